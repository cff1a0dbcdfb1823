"""Facts that change: update sequences through extraction end with the newest value live, the old in history."""

from __future__ import annotations

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.slots import slot_of

#: (what the user said, in order; the fact that must be live at the end; the values it replaced, oldest first).
SEQUENCES = [
    (["I live in Paris.", "I moved to Berlin."], "User moved to Berlin.", ["User lives in Paris."]),
    (["I live in Paris.", "I live in Berlin now."], "User lives in Berlin.", ["User lives in Paris."]),
    (
        ["I live in Oslo.", "I moved to Bergen.", "I live in Tromsø."],
        "User lives in Tromsø.",
        ["User lives in Oslo.", "User moved to Bergen."],
    ),
    (["I work at Acme.", "I work for Globex now."], "User works for Globex.", ["User works at Acme."]),
    (["I work as a nurse.", "I work as a paramedic."], "User works as a paramedic.", ["User works as a nurse."]),
    (["I'm vegetarian.", "I'm vegan."], "User is vegan.", ["User is vegetarian."]),
    (["My name is Ada.", "My name is Bea."], "User's name is Bea.", ["User's name is Ada."]),
    (["I'm married to Priya.", "I'm married to Sam."], "User is married to Sam.", ["User is married to Priya."]),
]


@pytest.mark.parametrize(("said", "newest", "replaced"), SEQUENCES, ids=[s[0][0][:30] for s in SEQUENCES])
def test_an_update_sequence_ends_with_the_newest_value_and_the_old_ones_in_history(
    engine: Engine, said: list[str], newest: str, replaced: list[str]
) -> None:
    written = [m for text in said for m in engine.add("u", text).memories]
    assert [m.value for m in written] == [*replaced, newest]
    assert [m.value for m in engine.iter_all(scope="u")] == [newest]
    for old, new in zip(written, written[1:], strict=False):
        assert engine.get(old.id).superseded_by == new.id
        entry = engine.history(old.id)[-1]
        assert (entry.event, entry.value, entry.replaced_by) == ("superseded", old.value, new.id)
    query = "where do I live, where do I work, what do I eat, what is my name, who am I married to?"
    assert [h.memory.value for h in engine.search(query, scope="u")] == [newest]


def test_facts_in_different_slots_or_scopes_stay_side_by_side(engine: Engine) -> None:
    for text in ("I live in Lisbon.", "I work at Acme.", "I'm vegetarian.", "I have two cats."):
        engine.add("u", text)
    engine.add("other", "I live in Porto.")
    assert sorted(m.value for m in engine.iter_all(scope="u")) == [
        "User has two cats.",
        "User is vegetarian.",
        "User lives in Lisbon.",
        "User works at Acme.",
    ]


def test_verbatim_turns_never_take_a_slot_so_speakers_never_replace_each_other(engine: Engine) -> None:
    engine.add_many("chat", ["Joanna: I live in Paris.", "Nate: I live in Berlin."], dedup=False)
    engine.add("chat", "I live in Rome.")
    assert sorted(m.value for m in engine.iter_all(scope="chat")) == [
        "Joanna: I live in Paris.",
        "Nate: I live in Berlin.",
        "User lives in Rome.",
    ]


def test_a_keyed_fact_is_never_superseded_by_a_slot(engine: Engine) -> None:
    engine.add("u", "Lisbon", key="city")
    engine.add("u", "I live in Lisbon.")
    engine.add("u", "I moved to Porto.")
    assert engine.get_key("u", "city").value == "Lisbon"


@pytest.mark.parametrize(
    ("fact", "slot"),
    [
        ("User lives in Berlin.", "residence"),
        ("User is based in Oslo.", "residence"),
        ("User works at Acme as a backend engineer.", "employer"),
        ("User works as a nurse.", "role"),
        ("User is strictly vegetarian.", "diet"),
        ("User's name is Ada.", "name"),
        ("User has two cats.", None),
        ("User lives with two cats.", None),
    ],
)
def test_slot_of_recognises_the_shapes_of_facts_that_change(fact: str, slot: str | None) -> None:
    assert slot_of(fact) == slot
