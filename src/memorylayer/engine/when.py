"""Time named in a query: "in May 2023", "on 3 May, 2023", "between August 11 and August 15 2023",
"as of December 2023", "last March", "two weeks ago" — the window of creation times it points at.

Retrieval lifts the memories written inside the window (``RankingConfig.time_window_weight``): a
question about "what did John attend in March 2023?" prefers what was said then. Times are UTC, as
every stored time is. Relative phrases ("yesterday", "last month", "last March", "3 weeks ago") count
from a reference instant: now, or the ``as_of`` of an as-of read. Events as bounds ("before I moved")
are not resolved: they name no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"((?:19|20)\d\d)"
#: A date: "May 3, 2023", "3 May, 2023", "May 2023", "August 11", "2023" (eleven groups: month day
#: year, day month year, month year, month day, year).
_DATE = (
    rf"(?:{_MONTH}\s+{_DAY},?\s+{_YEAR}|{_DAY}\s+{_MONTH},?\s+{_YEAR}|{_MONTH},?\s+{_YEAR}|{_MONTH}\s+{_DAY}"
    rf"|\b{_YEAR}\b)"
)
_RANGE = re.compile(rf"\bbetween\s+{_DATE}\s+and\s+{_DATE}", re.IGNORECASE)
_BOUND = re.compile(rf"\b(before|until|by|as of|after|since)\s+(?:the\s+)?{_DATE}", re.IGNORECASE)
_ONE = re.compile(_DATE, re.IGNORECASE)
#: One date as written ("24 April, 2023", "May 2023", "2022"): what answers a "when" question (engine/spans.py).
DATE = _ONE
_SEASONS = {"spring": (3, 3), "summer": (6, 3), "autumn": (9, 3), "fall": (9, 3), "winter": (12, 3)}
_SEASON = re.compile(rf"\b(spring|summer|autumn|fall|winter)\s+(?:of\s+)?{_YEAR}", re.IGNORECASE)
_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six)\s+(day|week|month|year)s?\s+ago\b", re.IGNORECASE)
_LAST = re.compile(rf"\b(yesterday|last\s+(?:week|weekend|month|year)|last\s+{_MONTH})\b", re.IGNORECASE)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
DAY_MS = 86_400_000


@dataclass(frozen=True)
class TimeWindow:
    """Creation times ``start`` <= t < ``end`` (either may be open), and the phrase that named them."""

    start: int | None
    end: int | None
    phrase: str

    def holds(self, ms: int) -> bool:
        return (self.start is None or ms >= self.start) and (self.end is None or ms < self.end)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _month(name: str) -> int:
    return next(i for i, full in enumerate(MONTHS, start=1) if full.startswith(name.lower()[:3]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _span(groups: tuple[str | None, ...], reference: datetime) -> tuple[int, int] | None:
    """[start, end) of one matched date (``_DATE``'s eleven groups), or None if it is no date."""
    m1, d1, y1, d2, m2, y2, m3, y3, m4, d4, y5 = groups
    try:
        if m1:
            start = datetime(int(y1), _month(m1), int(d1), tzinfo=UTC)  # type: ignore[arg-type]
            return _ms(start), _ms(start + timedelta(days=1))
        if m2:
            start = datetime(int(y2), _month(m2), int(d2), tzinfo=UTC)  # type: ignore[arg-type]
            return _ms(start), _ms(start + timedelta(days=1))
        if m3:
            year, month = int(y3), _month(m3)  # type: ignore[arg-type]
            after = _add_months(year, month, 1)
            return _ms(datetime(year, month, 1, tzinfo=UTC)), _ms(datetime(*after, 1, tzinfo=UTC))
        if m4:  # "August 11" without a year: the latest one not after the reference
            month, day = _month(m4), int(d4)  # type: ignore[arg-type]
            start = datetime(reference.year, month, day, tzinfo=UTC)
            if start > reference:
                start = start.replace(year=reference.year - 1)
            return _ms(start), _ms(start + timedelta(days=1))
        if y5:
            return _ms(datetime(int(y5), 1, 1, tzinfo=UTC)), _ms(datetime(int(y5) + 1, 1, 1, tzinfo=UTC))
    except ValueError:  # "February 30"
        return None
    return None


def time_window(query: str, reference_ms: int) -> TimeWindow | None:
    """The window of creation times ``query`` names, or None when it names no time."""
    reference = datetime.fromtimestamp(reference_ms / 1000, UTC)
    window = _named(query, reference)
    if window is not None and window.start is not None and window.start > reference_ms:
        return None  # "Cyberpunk 2077": a time still to come names no memory
    return window


def _named(query: str, reference: datetime) -> TimeWindow | None:
    found = _RANGE.search(query)
    if found:
        second = _span(found.groups()[11:], reference)
        # "between August 11 and August 15 2023": the first date takes the second one's year.
        anchor = reference if second is None else datetime.fromtimestamp(second[1] / 1000, UTC)
        first = _span(found.groups()[:11], anchor)
        if first and second:
            return TimeWindow(min(first[0], second[0]), max(first[1], second[1]), found.group(0))
    found = _BOUND.search(query)
    if found:
        span = _span(found.groups()[1:], reference)
        if span:
            word = found.group(1).lower()
            if word in ("before", "until", "by"):
                return TimeWindow(None, span[0] if word == "before" else span[1], found.group(0))
            if word == "as of":
                return TimeWindow(None, span[1], found.group(0))
            return TimeWindow(span[1] if word == "after" else span[0], None, found.group(0))
    found = _SEASON.search(query)
    if found:
        first_month, length = _SEASONS[found.group(1).lower()]
        year = int(found.group(2))
        start, end = (year, first_month), _add_months(year, first_month, length)
        return TimeWindow(_ms(datetime(*start, 1, tzinfo=UTC)), _ms(datetime(*end, 1, tzinfo=UTC)), found.group(0))
    found = _ONE.search(query)
    if found:
        span = _span(found.groups(), reference)
        if span:
            return TimeWindow(span[0], span[1], found.group(0))
    return _relative(query, reference)


def _relative(query: str, reference: datetime) -> TimeWindow | None:
    """ "yesterday", "last week/weekend/month/year", "last March", "3 weeks ago", from ``reference``."""
    today = reference.replace(hour=0, minute=0, second=0, microsecond=0)
    found = _AGO.search(query)
    if found:
        count = int(found.group(1)) if found.group(1).isdigit() else _WORDS[found.group(1).lower()]
        unit = found.group(2).lower()
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * count
        centre = today - timedelta(days=days)
        slack = timedelta(days=max(1, days // 4))  # "a month ago" is about a month ago
        return TimeWindow(_ms(centre - slack), _ms(centre + slack + timedelta(days=1)), found.group(0))
    found = _LAST.search(query)
    if not found:
        return None
    phrase = found.group(1).lower()
    if phrase == "yesterday":
        return TimeWindow(_ms(today - timedelta(days=1)), _ms(today), found.group(0))
    if phrase.endswith("week") or phrase.endswith("weekend"):
        monday = today - timedelta(days=today.weekday() + 7)
        start = monday + timedelta(days=5) if phrase.endswith("weekend") else monday
        return TimeWindow(_ms(start), _ms(monday + timedelta(days=7)), found.group(0))
    if phrase.endswith("month"):
        year, month = _add_months(today.year, today.month, -1)
        return TimeWindow(_ms(datetime(year, month, 1, tzinfo=UTC)), _ms(today.replace(day=1)), found.group(0))
    if phrase.endswith("year"):
        year = today.year - 1
        return TimeWindow(
            _ms(datetime(year, 1, 1, tzinfo=UTC)), _ms(datetime(year + 1, 1, 1, tzinfo=UTC)), found.group(0)
        )
    month = _month(found.group(2))
    year = today.year if month < today.month else today.year - 1
    after = _add_months(year, month, 1)
    return TimeWindow(_ms(datetime(year, month, 1, tzinfo=UTC)), _ms(datetime(*after, 1, tzinfo=UTC)), found.group(0))
