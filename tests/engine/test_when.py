"""Time named in a query: the window it points at, and retrieval lifting what was written then."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.ranking import DEFAULT_RANKING
from memorylayer.engine.when import time_window


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


REFERENCE = ms("2026-06-10T12:00:00")


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("What did John attend in March 2023?", "2023-03-01", "2023-04-01"),
        ("Who did Maria have dinner with on May 3, 2023?", "2023-05-03", "2023-05-04"),
        ("What movie did Joanna watch on 1 May, 2022?", "2022-05-01", "2022-05-02"),
        ("Where was John between August 11 and August 15 2023?", "2023-08-11", "2023-08-16"),
        ("Where was Tim before 16 November 2023?", None, "2023-11-16"),
        ("How many pets did Andrew have, as of September 2023?", None, "2023-10-01"),
        ("What did Sam do after June 2023?", "2023-07-01", None),
        ("Which country did they visit in 2010?", "2010-01-01", "2011-01-01"),
        ("What happened in summer 2023?", "2023-06-01", "2023-09-01"),
        ("what did I cook yesterday?", "2026-06-09", "2026-06-10"),
        ("where did I go last March?", "2026-03-01", "2026-04-01"),
        ("where did I go last July?", "2025-07-01", "2025-08-01"),
        ("what did we decide last month?", "2026-05-01", "2026-06-01"),
        ("what did we plan last week?", "2026-06-01", "2026-06-08"),
    ],
)
def test_a_named_time_becomes_its_window(query: str, start: str | None, end: str | None) -> None:
    window = time_window(query, REFERENCE)
    assert window is not None
    assert (window.start, window.end) == (start and ms(start), end and ms(end))


@pytest.mark.parametrize(
    "query",
    [
        "When did Caroline go to the support group?",
        "Is Cyberpunk 2077 any good?",
        "May I ask you something?",
        "on February 30, 2023",
    ],
)
def test_no_time_or_a_future_or_impossible_one_is_no_window(query: str) -> None:
    assert time_window(query, REFERENCE) is None


def test_a_week_ago_is_about_a_week_ago() -> None:
    window = time_window("what did I say two weeks ago?", REFERENCE)
    assert window is not None and window.holds(ms("2026-05-27")) and not window.holds(ms("2026-06-09"))


def test_the_window_lifts_what_was_written_then_and_weight_zero_turns_it_off(memorylayer_home: Path) -> None:
    engine = Engine.open(memorylayer_home)
    dates = {
        "2023-03-14": "We drove to the lake for the offsite.",
        "2023-07-02": "We drove to the beach for the offsite.",
    }
    for day, text in dates.items():
        engine.add("w", text, extract=False, created_at=ms(day))
    query = "Where did they go for the trip in March 2023?"
    lifted = {h.memory.value: h for h in engine.search(query, scope="w", top_k=2)}
    engine.close()
    assert DEFAULT_RANKING.time_window_weight > 0
    lake, beach = lifted[dates["2023-03-14"]], lifted[dates["2023-07-02"]]
    assert lake.signals["time"] == DEFAULT_RANKING.time_window_weight and "time" not in beach.signals
    off = Engine.open(memorylayer_home, ranking=replace(DEFAULT_RANKING, time_window_weight=0.0))
    try:
        plain = {h.memory.value: h for h in off.search(query, scope="w", top_k=2)}
        assert all("time" not in h.signals for h in plain.values())
        assert lake.signals["relevance"] < 1  # room to lift it
        assert lake.score > plain[lake.memory.value].score + 1e-3
        assert abs(beach.score - plain[beach.memory.value].score) < 1e-6
        july = off.search("the offsite at the beach in July 2023", scope="w", top_k=1)[0]
        assert "beach" in july.memory.value
    finally:
        off.close()
