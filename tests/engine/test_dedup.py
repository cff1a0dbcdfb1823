"""The dedup rules, first as a decision table, then with the real model's similarities."""

from __future__ import annotations

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.dedup import DUPLICATE, RELATED, decide
from memorylayer.types import MemoryRecord


def memory(source: str = "extracted", key: str | None = None) -> MemoryRecord:
    return MemoryRecord(
        id="m1",
        scope="s",
        key=key,
        value="v",
        metadata={},
        importance=0.5,
        source=source,
        status="ready",
        created_at=0,
        updated_at=0,
    )


@pytest.mark.parametrize(
    ("source", "exact", "closest", "similarity", "shared", "action"),
    [
        ("extracted", memory(), None, 0.0, 0.0, "skip"),
        ("extracted", None, None, 0.0, 0.0, "insert"),
        ("extracted", None, memory(), RELATED - 0.01, 1.0, "insert"),
        ("extracted", None, memory(), DUPLICATE, 0.3, "insert"),  # different words: different facts
        ("extracted", None, memory(key="k", source="explicit"), DUPLICATE, 1.0, "skip"),
        ("extracted", None, memory(key="k", source="explicit"), RELATED, 0.6, "skip"),
        ("explicit", None, memory(key="k", source="explicit"), DUPLICATE, 1.0, "skip"),
        ("extracted", None, memory(), DUPLICATE, 0.7, "supersede"),
        ("explicit", None, memory(source="explicit"), DUPLICATE, 0.7, "supersede"),
        ("extracted", None, memory(), RELATED, 0.5, "supersede"),
        ("explicit", None, memory(source="explicit"), RELATED, 0.5, "insert"),
        ("extracted", None, memory(source="explicit"), RELATED, 0.5, "insert"),
    ],
)
def test_decision_table(source, exact, closest, similarity, shared, action) -> None:
    assert decide(source, exact, closest, similarity, shared).action == action


def test_an_extended_extracted_fact_supersedes_the_old_one(engine: Engine) -> None:
    old = engine.add("u", "I prefer Python with type hints and black.").memories[0]
    new = engine.add("u", "I prefer Python with type hints, black and ruff.")
    assert new.superseded == [old.id]
    values = [m.value for m in engine.list(scope="u").memories]
    assert values == ["User prefers Python with type hints, black and ruff."]
    assert engine.history(old.id)[0].value == "User prefers Python with type hints and black."


def test_a_changed_fact_with_a_distant_embedding_is_kept_beside_the_old_one_when_stored_verbatim(
    engine: Engine,
) -> None:
    # "lives in Paris" vs "lives in Berlin" is only ~0.66 similar for MiniLM: dedup alone cannot tell an
    # update from a second fact, so verbatim stores both stay. Extracted facts carry a slot that does
    # (tests/engine/test_slots.py); a keyed fact is the other way to update.
    engine.add("u", "User lives in Paris.", extract=False)
    engine.add("u", "User lives in Berlin.", extract=False)
    assert engine.count("u") == 2
    engine.add("x", "I live in Paris.")
    engine.add("x", "I live in Berlin.")
    assert [m.value for m in engine.iter_all(scope="x")] == ["User lives in Berlin."]


def test_different_facts_with_similar_wording_are_both_kept(engine: Engine) -> None:
    engine.add("ops", "Server A has IP address 10.0.0.1", extract=False)
    engine.add("ops", "Server B has IP address 10.0.0.2", extract=False)
    engine.add("ops", "fact 1 about the build", extract=False)
    engine.add("ops", "fact 2 about the build", extract=False)
    assert engine.count("ops") == 4


def test_facts_of_one_extraction_are_deduplicated_among_themselves(engine: Engine) -> None:
    result = engine.add("u", "I'm allergic to peanuts. I am allergic to peanuts!")
    assert len(result.memories) == 1


def test_turns_of_different_speakers_never_supersede_each_other(engine: Engine) -> None:
    turns = ["Joanna: Bye Nate!", "Nate: Bye Joanna!", "Joanna: Bye Nate!"]
    result = engine.add_many("chat", turns)
    assert [m.value for m in result.memories] == turns[:2]
    assert result.superseded == [] and result.skipped == ["Joanna: Bye Nate!"]
    assert sorted(m.value for m in engine.iter_all(scope="chat")) == sorted(turns[:2])
    # The same speaker rewording a turn still supersedes it, as any near-duplicate does.
    again = engine.add_many("chat", ["Joanna: Bye, Nate!!"])
    assert again.superseded and again.superseded[0] == result.memories[0].id
