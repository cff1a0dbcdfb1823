"""The shortest span of an evidence sentence that answers a question (recall(answer) offline).

A question's kind comes from its wording: *when* (a date), *count* (how many / how much / how long),
*where* (a place), else *what* (who, which, what…). Each kind has its span: a date the sentence names,
or a relative one ("yesterday", "last Friday") resolved against the memory's own time, or failing
both the memory's date; the first number the question does not hold; the capitalised place after
"in/at/to/from"; for *what* (and when the others find nothing), a quoted title, else the shortest run
of the sentence holding every word the question does not already hold (function words and chat
filler aside): what the sentence adds to the question. A span is the sentence's own words, except for
dates, which are written out from the memory's time. ``None``: the sentence adds nothing (the caller
answers with the sentence).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal

from .text import analyze
from .when import DATE, MONTHS

Kind = Literal["when", "count", "where", "what"]

_KINDS: list[tuple[Kind, re.Pattern[str]]] = [
    ("when", re.compile(r"^\s*when\b|\b(?:what|which) (?:date|day|year|month|time)\b|\bhow long ago\b", re.I)),
    ("count", re.compile(r"\bhow (?:many|much|often|old|long)\b", re.I)),
    ("where", re.compile(r"^\s*where\b|\b(?:what|which) (?:country|city|state|town|place)\b", re.I)),
]
#: "Caroline: …" — a transcript line's speaker label: not part of what was said.
_LABEL = re.compile(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}):\s+")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve twenty hundred couple few".split()
_RELATIVE = re.compile(
    r"\b(yesterday|last night|today|tonight|this morning|last (week(?:end)?|month|year|"
    + "|".join(_WEEKDAYS)
    + r")|(\d+|a|an|one|two|three|four|five|six) (day|week|month|year)s? ago)\b",
    re.I,
)
_NUMBER = re.compile(r"\b(\d+(?:[.,]\d+)?|" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_PLACE = re.compile(r"\b(?:in|at|to|from|near|around|visit(?:ed)?)\s+((?:the\s+)?[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_WORD = re.compile(r"[\w'-]+")
#: Chat filler that says nothing an answer needs (stopwords are left out already).
_FILLER = frozenset("im ive id ill youre oh wow hey yeah yes really like love lot lots got get gonna thanks".split())


def question_kind(question: str) -> Kind:
    return next((kind for kind, pattern in _KINDS if pattern.search(question)), "what")


def spoken(sentence: str) -> str:
    """The sentence without a transcript speaker label."""
    return _LABEL.sub("", sentence, count=1)


def span(question: str, sentence: str, created_at: int) -> str | None:
    """The shortest span of ``sentence`` answering ``question`` (see the module docstring)."""
    kind = question_kind(question)
    text = spoken(sentence)
    if kind == "when":
        return _when(text, created_at)
    found = _count(question, text) if kind == "count" else _where(question, text) if kind == "where" else None
    return found or _what(question, text)


def day(ms: int) -> str:
    """'8 May 2023': LoCoMo's and most people's way of writing a date."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{when.day} {MONTHS[when.month - 1].capitalize()} {when.year}"


def _when(text: str, created_at: int) -> str:
    named = DATE.search(text)
    if named:
        return named.group(0)
    relative = _RELATIVE.search(text)
    said = datetime.fromtimestamp(created_at / 1000, UTC)
    if relative is None:
        return day(created_at)
    phrase, unit = relative.group(1).lower(), (relative.group(2) or "").lower()
    if phrase in ("yesterday", "last night"):
        return day(created_at - 86_400_000)
    if phrase in ("today", "tonight", "this morning"):
        return day(created_at)
    if unit == "month":
        before = said.replace(day=1) - timedelta(days=1)
        return f"{MONTHS[before.month - 1].capitalize()} {before.year}"
    if unit == "year":
        return str(said.year - 1)
    if unit:  # last week / weekend / Friday
        return f"the {unit} before {day(created_at)}"
    return f"{relative.group(3)} {relative.group(4)}s before {day(created_at)}"


def _count(question: str, text: str) -> str | None:
    asked = set(_WORD.findall(question.lower()))
    for found in _NUMBER.finditer(text):
        if found.group(1).lower() not in asked:
            return found.group(1)
    return None


def _where(question: str, text: str) -> str | None:
    asked = set(_WORD.findall(question.lower()))
    for found in _PLACE.finditer(text):
        place = found.group(1)
        if not set(place.lower().split()) <= asked:
            return place
    return None


def _what(question: str, text: str) -> str | None:
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1).strip()
    wanted = set(analyze(question))
    new = [w for w in _WORD.finditer(text) if _says_more(w.group(0), wanted)]
    if not new:
        return None
    return text[new[0].start() : new[-1].end()]


def _says_more(word: str, wanted: set[str]) -> bool:
    """A word the question does not already hold, and not a function word or chat filler."""
    terms = set(analyze(word))
    return bool(terms) and not terms & wanted and word.lower().replace("'", "") not in _FILLER
