"""Recall beyond the search: generic questions, the wire's strategy values, the budget and its tokens."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from memorylayer.embedding.embedder import DEFAULT_DIMENSIONS, DEFAULT_MODEL_ID, count_tokens
from memorylayer.engine import Engine
from memorylayer.engine.ranking import DEFAULT_RANKING
from memorylayer.errors import NotConfigured

PROFILE = {"name": "Ada Lovelace", "role": "staff engineer", "subscription": "pro plan"}


def _profile(engine: Engine) -> None:
    for key, value in PROFILE.items():
        engine.add("u", value, key=key)
    engine.add("u", "User went hiking in the Alps last weekend", extract=False)


def test_generic_questions_return_the_profile_keyed_facts_first(engine: Engine) -> None:
    _profile(engine)
    for query in ("hi", "Hello!", "tell me about myself", "what do you know about me?", "who am I?"):
        result = engine.recall("u", query, max_items=4)
        lines = result.context.split("\n")
        assert sorted(lines[:3]) == sorted(f"{k}: {v}" for k, v in PROFILE.items()), query
        assert lines[3] == "User went hiking in the Alps last weekend"
        assert result.ranking.strategy == "semantic" and result.ranking.reason is None
        assert result.ranking.ordering == "profile"
        assert len(result.ranking.scores) == 4


def test_a_generic_question_puts_the_more_important_keyed_fact_first(engine: Engine) -> None:
    engine.add("u", "dark mode", key="theme", importance=0.2)
    engine.add("u", "Ada", key="name", importance=0.9)
    assert engine.recall("u", "hi", max_items=1).context == "name: Ada"


def test_a_topical_question_is_not_generic(engine: Engine) -> None:
    _profile(engine)
    result = engine.recall("u", "where did I go hiking?")
    assert result.ranking.ordering == "relevance"
    assert result.context.split("\n")[0] == "User went hiking in the Alps last weekend"
    assert result.ranking.signals[:2] == ["semantic", "lexical"]


class MissingModel:
    """Stands in for an embedding model that cannot load (its file gone): every embed raises."""

    model_id = DEFAULT_MODEL_ID
    dimensions = DEFAULT_DIMENSIONS

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotConfigured("embedding model not found")


def test_without_the_model_recall_falls_back_to_recency_and_importance(memorylayer_home: Path) -> None:
    with Engine.open(memorylayer_home) as engine:
        engine.add("u", "old and unimportant", key="a", importance=0.1)
        engine.add("u", "newer and important", key="b", importance=0.9)
    with Engine.open(memorylayer_home, embedder=MissingModel()) as broken:
        result = broken.recall("u", "anything at all", threshold="strict")
        assert result.ranking.strategy == "recency_importance"
        assert result.ranking.reason == "embedding_unavailable"
        assert result.context == "b: newer and important\na: old and unimportant"


def test_a_memory_that_does_not_fit_is_skipped_and_filling_goes_on(engine: Engine) -> None:
    long = "Deploy checklist: " + "run the migration, then check the dashboards, " * 12
    engine.add("d", long, key="deploy-checklist", importance=1.0)
    engine.add("d", "Deploys go out on Tuesdays", key="deploy-day")
    result = engine.recall("d", "deploy checklist", max_tokens=40, threshold="permissive")
    assert result.context == "deploy-day: Deploys go out on Tuesdays"
    assert [m.key for m in result.memories] == ["deploy-day"]
    assert result.ranking.scores and len(result.ranking.scores) == 1


def test_the_budget_counts_word_pieces_of_the_real_tokenizer(engine: Engine) -> None:
    assert count_tokens("User is allergic to peanuts.") == 6
    assert count_tokens("") == 0
    cities = ["Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo", "Vienna", "Prague"]
    lines = [f"Everybody remembers the international conference in {city}" for city in cities]
    assert all(count_tokens(line) == 7 and len(line) > 50 for line in lines)
    engine.add_many("t", lines)
    query = "which international conference do people remember?"
    by_tokens = engine.recall("t", query, max_items=20, max_tokens=40, threshold="permissive")
    assert len(by_tokens.memories) == 5 and count_tokens(by_tokens.context) <= 40  # 5 × 7 pieces (+ newlines: none)
    # The wire's rule, maxTokens × 4 JavaScript characters: 160 characters hold two of these lines.
    by_chars = engine.recall("t", query, max_items=20, max_tokens=40, threshold="permissive", chars_per_token=4)
    assert len(by_chars.memories) == 2 and len(by_chars.context) <= 160


CHAT = [
    "Caroline: I went to the LGBTQ support group yesterday and it was powerful.",
    "Melanie: That sounds amazing, I'm so proud of you!",
    "Caroline: Thanks! How are the kids doing?",
    "Melanie: They are great, we went camping at the lake last weekend.",
    "Caroline: Mel, when did you take up painting?",
    "Melanie: In 2016, right after my trip to Spain.",
    "Caroline: I'm looking into counseling as a career.",
    "Melanie: You'd be wonderful at that.",
]


def test_the_turn_after_a_matching_question_is_lifted_next_to_it(engine: Engine) -> None:
    engine.add_many("chat", CHAT, dedup=False)
    hits = engine.search("When did Melanie take up painting?", scope="chat", top_k=5)
    values = [h.memory.value for h in hits]
    # The question first, then the turns written within two writes of it (the answer among them).
    assert values[0] == CHAT[4] and set(values[1:]) == {CHAT[2], CHAT[3], CHAT[5], CHAT[6]}
    answer = hits[values.index(CHAT[5])].signals
    top = hits[0].signals["relevance"]
    # The answer shares no word but the speaker's name: its lift comes from the question before it.
    assert answer["neighbour"] == pytest.approx(engine.ranking.neighbour_lift * top)
    assert answer["relevance"] < answer["neighbour"]
    two_away = hits[values.index(CHAT[6])].signals
    assert two_away["neighbour"] == pytest.approx(engine.ranking.neighbour_lift_2 * top)


def test_a_lifted_turn_is_still_held_to_the_threshold_by_its_own_relevance(memorylayer_home: Path) -> None:
    ranking = replace(DEFAULT_RANKING, neighbour_lift=0.0)
    with Engine.open(memorylayer_home, ranking=ranking) as engine:
        engine.add_many("chat", CHAT, dedup=False)
        hits = engine.search("When did Melanie take up painting?", scope="chat", top_k=8)
        assert all("neighbour" not in h.signals for h in hits)
        own = {h.memory.value: h.signals["relevance"] for h in hits}
    with Engine.open(memorylayer_home) as engine:
        strict = engine.recall("chat", "When did Melanie take up painting?", threshold="strict", max_items=8)
    floor = max(DEFAULT_RANKING.thresholds["strict"], DEFAULT_RANKING.relative_floor["strict"] * max(own.values()))
    assert strict.memories and {m.value for m in strict.memories} == {v for v, r in own.items() if r >= floor}


def test_a_question_naming_someone_the_scope_never_mentions_needs_a_strict_match(engine: Engine) -> None:
    engine.add_many("chat", CHAT, dedup=False)

    def recalled(query: str, threshold: str) -> list[str]:
        return [m.value for m in engine.recall("chat", query, threshold=threshold, max_items=8).memories]

    known = "What did Caroline say about the kids?"
    assert len(recalled(known, "permissive")) > len(recalled(known, "strict"))
    # The same question about a stranger is held to strict at every threshold.
    stranger = "What did Jonas say about the kids?"
    assert recalled(stranger, "permissive") == recalled(stranger, "balanced") == recalled(stranger, "strict")
    assert len(recalled(stranger, "permissive")) < len(recalled(known, "permissive"))
    # Distilled facts rarely name their user: a strong match still passes.
    engine.add("alice", "User's favourite food is sushi", extract=False)
    assert engine.recall("alice", "What is Alice's favourite food?").context == "User's favourite food is sushi"
