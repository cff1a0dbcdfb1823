"""Validity in time: each value holds from its time until a newer one supersedes it, and "as of" reads it back.

The corpus is update sequences (residence, employer, plan, diet) written with the dates they
happened; for every instant around every change, get-by-key, list, search and recall as of that
instant must return exactly the value that held then.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest


def ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


#: (key, [(when it became true, what the user said / the keyed value)]), in time order.
CORPUS = [
    (
        "residence",
        [("2024-01-10", "I live in Paris."), ("2025-03-01", "I moved to Berlin."), ("2026-02-15", "I live in Tromsø.")],
    ),
    ("employer", [("2024-06-01", "I work at Acme."), ("2025-09-20", "I work for Globex now.")]),
    ("diet", [("2024-02-01", "I'm vegetarian."), ("2024-11-11", "I'm vegan."), ("2025-07-04", "I eat meat again.")]),
]
#: Keyed plan changes (the account's plan is a keyed fact, not an extracted one).
PLAN = [("2024-03-01", "free"), ("2024-08-15", "pro"), ("2025-05-05", "team"), ("2026-01-01", "pro")]
DAY = 86_400_000


def instants(changes: list[tuple[str, str]]) -> list[tuple[int, int | None]]:
    """(instant, index of the value valid then or None) just before, at and just after every change."""
    out: list[tuple[int, int | None]] = []
    for i, (day, _) in enumerate(changes):
        at = ms(day)
        out += [(at - 1, i - 1 if i else None), (at, i), (at + DAY, i)]
    return out


@pytest.fixture
def timeline(engine: Engine) -> Engine:
    for _, changes in CORPUS:
        for day, said in changes:
            engine.add("u", said, created_at=ms(day))
    for day, plan in PLAN:
        engine.add("u", plan, key="plan", created_at=ms(day))
    return engine


def test_a_keyed_value_holds_from_its_time_until_the_next_one(timeline: Engine) -> None:
    for at, index in instants(PLAN):
        found = timeline.get_key("u", "plan", as_of=at)
        if index is None:
            assert found is None, at
            continue
        assert found is not None and found.value == PLAN[index][1], (at, index)
        assert found.valid_from == ms(PLAN[index][0])
        assert found.valid_to == (ms(PLAN[index + 1][0]) if index + 1 < len(PLAN) else None)
    assert timeline.get_key("u", "plan").value == "pro"


def test_history_keeps_the_interval_of_every_superseded_value(timeline: Engine) -> None:
    entries = [e for e in timeline.history(scope="u", key="plan") if e.event == "updated"]
    assert [(e.value, e.valid_from, e.valid_to) for e in entries] == [
        (PLAN[i][1], ms(PLAN[i][0]), ms(PLAN[i + 1][0])) for i in range(len(PLAN) - 1)
    ]
    for _, changes in CORPUS:
        # Every superseded value of a slot keeps, in its history, the interval it held.
        for (day, _), (next_day, _) in zip(changes, changes[1:], strict=False):
            (old,) = [m for m in _values_at(timeline, ms(day)) if m.created_at == ms(day)]
            (entry,) = timeline.history(old.id)
            assert (entry.event, entry.valid_from, entry.valid_to) == ("superseded", ms(day), ms(next_day))
            assert timeline.get(old.id).valid_to == ms(next_day)


@pytest.mark.parametrize(("slot", "changes"), CORPUS, ids=[c[0] for c in CORPUS])
def test_as_of_every_instant_the_slot_holds_the_value_valid_then(
    timeline: Engine, slot: str, changes: list[tuple[str, str]]
) -> None:
    facts = {ms(day): fact for day, fact in changes}
    for at, index in instants(changes):
        listed = [m for m in timeline.list(scope="u", as_of=at, limit=100).memories if m.metadata.get("slot") == slot]
        if index is None:
            assert listed == [], at
            continue
        assert len(listed) == 1, (at, [m.value for m in listed])
        memory = listed[0]
        assert memory.created_at == ms(changes[index][0]) and memory.value.startswith("User")
        expected_to = ms(changes[index + 1][0]) if index + 1 < len(changes) else None
        assert (memory.valid_from, memory.valid_to) == (ms(changes[index][0]), expected_to)
        assert memory.id in {m.id for m in _values_at(timeline, at)}
    assert sorted(facts) == [ms(day) for day, _ in changes]


def _values_at(engine: Engine, at: int) -> list:
    return engine.list(scope="u", as_of=at, limit=100).memories


def test_search_and_recall_as_of_answer_with_the_value_valid_then(timeline: Engine) -> None:
    where = "Where does the user live?"
    for day, expected in (("2024-06-01", "Paris"), ("2025-06-01", "Berlin"), ("2026-06-01", "Tromsø")):
        hits = timeline.search(where, scope="u", as_of=ms(day), top_k=1)
        assert expected in hits[0].memory.value, (day, hits[0].memory.value)
        recalled = timeline.recall("u", where, as_of=ms(day), max_items=1)
        assert expected in recalled.context, (day, recalled.context)
        assert recalled.ranking.ordering == "as_of"
    plan_then = timeline.search("which plan is the account on?", scope="u", as_of=ms("2024-09-01"), top_k=10)
    assert [h.memory.value for h in plan_then if h.memory.key == "plan"] == ["pro"]
    assert "Tromsø" in timeline.recall("u", where, max_items=1).context  # the default is now


def test_as_of_before_anything_was_true_is_empty_and_a_bad_instant_is_refused(timeline: Engine) -> None:
    assert timeline.search("Where does the user live?", scope="u", as_of=ms("2020-01-01")) == []
    assert timeline.list(scope="u", as_of=ms("2020-01-01")).memories == []
    for bad in (-1, "yesterday", 1.5):
        with pytest.raises(InvalidRequest, match="as_of"):
            timeline.get_key("u", "plan", as_of=bad)  # type: ignore[arg-type]


def test_list_as_of_pages_exactly(timeline: Engine) -> None:
    at = ms("2026-06-01")
    everything = timeline.list(scope="u", as_of=at, limit=100).memories
    assert len(everything) == 4  # the newest residence, employer, diet and plan
    first = timeline.list(scope="u", as_of=at, limit=3)
    second = timeline.list(scope="u", as_of=at, limit=3, cursor=first.next_cursor)
    assert [m.id for m in first.memories + second.memories] == [m.id for m in everything]
    assert second.next_cursor is None


def test_an_update_in_place_ends_the_old_values_interval(engine: Engine) -> None:
    memory = engine.add("u", "The office is on floor 3.", extract=False).memories[0]
    updated = engine.update(memory.id, value="The office is on floor 5.")
    assert updated.valid_from is not None and updated.valid_from >= memory.valid_from
    (entry,) = engine.history(memory.id)
    assert (entry.value, entry.valid_from, entry.valid_to) == (memory.value, memory.valid_from, updated.valid_from)
    assert engine.get_key is not None
    same = engine.update(memory.id, metadata={"floor": 5})
    assert same.valid_from == updated.valid_from  # a change of metadata alone keeps the interval
    assert engine.history(memory.id)[-1].valid_to is None
