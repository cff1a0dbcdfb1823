"""weave, recall(explore) and ripple on the real engine, model and store (docs/operations.md)."""

from __future__ import annotations

import threading

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, NotFound
from memorylayer.types import Link, NewMemory

FILLER = [
    "User drinks green tea every morning.",
    "The build server runs on Ubuntu.",
    "User's bike has a flat tyre.",
    "Dana reviewed the quarterly budget.",
    "Dana moved the standup to ten.",
    "Dana asked about the offsite.",
    "The garden needs watering on Fridays.",
]


def _store(engine: Engine, values: list[str], scope: str = "s", **fields: object) -> list[str]:
    items = [NewMemory(v, **fields) for v in values]  # type: ignore[arg-type]
    return [m.id for m in engine.add_batch(scope, items, dedup=False).memories]


def _links(engine: Engine, memory_id: str, kind: str) -> set[frozenset[str]]:
    return {frozenset((x.source, x.target)) for x in engine.store.links_of(engine.account, [memory_id], [kind])}


def test_weave_links_rare_shared_names_but_not_common_ones(engine: Engine) -> None:
    sunrise, daughter = _store(engine, ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky."])
    _store(engine, [*FILLER, "Later Dana went home."])
    result = engine.weave("s")
    assert result.memories == 10 and result.links["entity"] == 1
    (link,) = engine.store.links_of(engine.account, [sunrise], ["entity"])
    assert {link.source, link.target} == {sunrise, daughter} and link.label == "melani" and 0 < link.weight <= 1
    # Dana is in 4 of 10 memories: naming the user's whole world links nothing.
    assert all("dana" not in x.label for x in engine.store.links_of(engine.account, [sunrise, daughter]))


def test_weave_links_conversations_documents_supersessions_and_co_recalls(engine: Engine) -> None:
    first, second, third = _store(
        engine, ["We met at noon.", "It rained all day.", "We took a taxi."], metadata={"conversation": "c1"}
    )
    chunks = engine.remember_document("s", "guide.md", "# Setup\n\nInstall it.\n\n# Use\n\nRun it.").chunks
    old, new = _store(engine, ["User's favourite colour is blue.", "The user's favourite colour is blue"])
    engine.consolidate("s")  # the shorter wording is superseded by the longer one
    for _ in range(2):
        engine.recall("s", "what was the weather and the taxi?", threshold="permissive")
    result = engine.weave("s")
    assert _links(engine, first, "conversation") == {frozenset((first, second)), frozenset((first, third))}
    assert _links(engine, chunks[0].id, "document") == {frozenset((chunks[0].id, chunks[1].id))}
    assert engine.store.links_of(engine.account, [old], ["supersedes"]) == [Link(new, old, "supersedes", 1.0)]
    assert frozenset((second, third)) in _links(engine, second, "co_recall")
    # Weaving again rebuilds the same links, and leaves consolidation's links alone.
    engine.store.put_links(engine.account, "s", [Link(new, first, "derived")], 0)
    assert result.links["derived"] == 1  # consolidate's own link from the kept wording to the merged one
    assert engine.weave("s").links == result.links | {"derived": 2}


def test_explore_reaches_a_linked_memory_recall_alone_ranks_low_and_says_how(engine: Engine) -> None:
    sunrise, daughter = _store(engine, ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky."])
    _store(engine, FILLER)
    engine.weave("s")
    question = "What did Melanie paint?"
    plain = engine.explore("s", question, max_items=2, seeds=1, max_hops=0)
    assert [h.memory.id for h in plain.hits] == [sunrise]
    explored = engine.explore("s", question, max_items=2, seeds=1)
    assert [h.memory.id for h in explored.hits] == [sunrise, daughter]
    hit = explored.hits[1]
    assert hit.hop == 1 and hit.path[0].source == sunrise and hit.path[0].kind == "entity"
    assert hit.score == pytest.approx(explored.hits[0].score * 0.3 * hit.path[0].weight, abs=1e-5)
    # The budget holds: one memory reached in all is the seed alone.
    assert engine.explore("s", question, max_items=2, seeds=1, max_nodes=1).reached == 1


def test_explore_starts_from_the_turns_of_the_person_the_question_names(engine: Engine) -> None:
    weekends, saturdays, *_ = _store(
        engine,
        [
            "Caroline: On weekends I like to go hiking and swimming.",
            "Melanie: I spend my Saturdays painting in the garden.",
            "Caroline: I started a pottery class on Tuesdays.",
            "Melanie: The kids have football practice tonight.",
        ],
    )
    question = "What does Melanie like to do on weekends?"
    assert engine.search(question, scope="s", top_k=1)[0].memory.id == weekends  # Caroline's words match best
    (seed,) = engine.explore("s", question, max_items=1, seeds=1, max_hops=0).hits
    assert seed.memory.id == saturdays and seed.hop == 0  # but Melanie's own turn answers it
    searched = {h.memory.id: h.score for h in engine.search(question, scope="s", top_k=4)}
    assert seed.score == pytest.approx(searched[saturdays] + 0.3, abs=1e-4)  # its score + the speaker's weight
    (plain,) = engine.explore("s", question, max_items=1, seeds=1, max_hops=0, speaker_weight=0).hits
    assert plain.memory.id == weekends
    with pytest.raises(InvalidRequest, match="speaker_weight"):
        engine.explore("s", question, speaker_weight=1.5)


def test_explore_skips_a_superseded_memory_but_passes_activation_through_it(engine: Engine) -> None:
    a, b, c = _store(
        engine, ["Melanie paints sunsets.", "Melanie's studio is in Leeds.", "The Leeds studio has a kiln."]
    )
    _store(engine, FILLER)
    engine.store.put_links(engine.account, "s", [Link(a, b, "entity", 1.0), Link(b, c, "entity", 1.0)], 0)
    engine.store.supersede(engine.account, b, c)
    hits = engine.explore("s", "What does Melanie paint?", seeds=1, max_items=5, max_hops=2).hits
    assert b not in [h.memory.id for h in hits]
    reached = next(h for h in hits if h.memory.id == c)
    assert [s.source for s in reached.path] == [a, b]


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_hops", 5), ("max_nodes", 0), ("decay", 1.5), ("max_items", 0), ("seeds", 51)],
)
def test_explore_refuses_a_bad_budget(engine: Engine, field: str, value: object) -> None:
    with pytest.raises(InvalidRequest, match=field):
        engine.explore("s", "anything", **{field: value})  # type: ignore[arg-type]


def test_explore_and_weave_refuse_bad_scopes_and_queries(engine: Engine) -> None:
    with pytest.raises(InvalidRequest):
        engine.explore("s", "   ")
    with pytest.raises(InvalidRequest):
        engine.weave("")


def test_ripple_lists_derived_memories_transitively_and_apply_flags_only_them(engine: Engine) -> None:
    fact, neighbour = _store(engine, ["Melanie lives in Leeds.", "The studio of Melanie has a kiln."])
    (summary,) = _store(engine, ["In short: Leeds, a studio."], metadata={"derived_from": [fact, neighbour]})
    (composite,) = _store(engine, ["All about her."])
    engine.store.put_links(engine.account, "s", [Link(composite, summary, "part_of")], 0)
    _store(engine, FILLER)
    engine.weave("s")  # fact and neighbour share "Melanie": related, not dependent
    preview = engine.ripple(fact)
    assert [(d.memory.id, d.kind, d.via) for d in preview.dependants] == [
        (summary, "derived", fact),
        (composite, "part_of", summary),
    ]
    assert [d.memory.id for d in preview.related] == [neighbour] and not preview.applied
    assert "needs_review" not in engine.get(summary).metadata
    applied = engine.ripple(fact, apply=True)
    assert applied.applied and all(d.flagged for d in applied.dependants)
    assert engine.get(summary).metadata["needs_review"] == fact
    assert engine.get(composite).metadata["needs_review"] == fact
    assert "needs_review" not in engine.get(neighbour).metadata


def test_ripple_of_an_unknown_memory_is_not_found_and_a_deleted_one_takes_its_links(engine: Engine) -> None:
    with pytest.raises(NotFound):
        engine.ripple("0b1c6f53-3c2e-4d0e-9d59-1d2a1f4e0c11")
    with pytest.raises(InvalidRequest):
        engine.ripple("")
    fact, other = _store(engine, ["Melanie lives in Leeds.", "Melanie has a kiln."])
    engine.store.put_links(engine.account, "s", [Link(other, fact, "derived")], 0)
    engine.delete(fact)
    assert engine.store.links_of(engine.account, [other]) == []


def test_weaves_racing_on_one_scope_leave_the_links_one_weave_makes(engine: Engine) -> None:
    _store(engine, ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky.", *FILLER])
    expected = engine.weave("s").links
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(engine.weave("s").links)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4 and engine.store.count_links(engine.account, "s") == expected
