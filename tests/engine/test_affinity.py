"""One-step inference on fact scopes: a question's intent recalls the user facts that bear on it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from memorylayer.engine import Engine
from memorylayer.engine.affinity import bears_on, topics_for
from memorylayer.engine.ranking import DEFAULT_RANKING

FACTS = [
    "User is allergic to peanuts",
    "User is vegetarian",
    "User has two cats named Miso and Tofu",
    "User plays jazz piano",
    "User lives in Lisbon",
]


def _facts(engine: Engine) -> None:
    for fact in FACTS:
        engine.add("u", fact, extract=False)


def test_a_cooking_question_recalls_the_diet_and_the_allergy_and_nothing_else(engine: Engine) -> None:
    _facts(engine)
    result = engine.recall("u", "what should I cook for dinner tonight?")
    assert {m.value for m in result.memories} == {"User is allergic to peanuts", "User is vegetarian"}


def test_without_the_map_the_same_question_misses_the_allergy(memorylayer_home: Path) -> None:
    with Engine.open(memorylayer_home, ranking=replace(DEFAULT_RANKING, affinity_relevance=0.0)) as engine:
        _facts(engine)
        result = engine.recall("u", "what should I cook for dinner tonight?")
        assert "User is allergic to peanuts" not in {m.value for m in result.memories}


def test_a_trip_question_recalls_where_the_user_lives(engine: Engine) -> None:
    _facts(engine)
    hits = engine.search("what's the weather going to be like at home?", scope="u", top_k=5)
    lifted = {h.memory.value for h in hits if "affinity" in h.signals}
    assert lifted == {"User lives in Lisbon"}


def test_chat_turns_are_never_raised_by_the_map(engine: Engine) -> None:
    engine.add_many("chat", ["Caroline: I'm allergic to peanuts, sadly.", "Melanie: We cooked pasta."], dedup=False)
    hits = engine.search("what should I cook for dinner?", scope="chat", top_k=5)
    assert hits and all("affinity" not in h.signals for h in hits)


def test_intents_name_the_topics_that_bear_on_them() -> None:
    assert topics_for("Can you suggest a restaurant for me?") == {"diet", "allergy", "health"}
    assert topics_for("what birthday present should I buy?") == {"family"}
    assert topics_for("what is the capital of France?") == set()
    assert bears_on("User is lactose intolerant", {"allergy"})
    assert not bears_on("User plays jazz piano", {"diet", "allergy", "health"})
    assert not bears_on("Caroline: I'm vegan", {"diet"})
