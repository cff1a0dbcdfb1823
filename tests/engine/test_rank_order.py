"""Ranking scores only the candidates that can still reach the top k (engine/retrieval.py ``_best``):
its results must be exactly the head of the order in which every candidate is scored."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from memorylayer.engine import Engine
from memorylayer.engine.ranking import DEFAULT_RANKING, RankingConfig, Scorer, final_score
from memorylayer.store.base import RankFields
from memorylayer.types import SearchHit

DAY_MS = 86_400_000
PEOPLE = ["Caroline", "Melanie", "Jon", "Gina", "Tim", "Ana"]
DOINGS = [
    "went hiking near the lake",
    "adopted a puppy from the shelter",
    "started painting sunsets",
    "cooked a vegetarian lasagna",
    "ran a charity race",
    "visited her grandmother in Sweden",
    "joined a pottery class",
    "read a book about astronomy",
]


def _ts(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)


def _fill(engine: Engine) -> None:
    """A chat log over a year (some turns extracted, some explicit, a few weighted, a few deleted)."""
    texts = [f"{p} {d} (note {i})" for i, (p, d) in enumerate(itertools.product(PEOPLE, DOINGS))]
    start = _ts(2023, 1, 5)
    created = [start + i * 7 * DAY_MS for i in range(len(texts))]
    half = len(texts) // 2
    engine.add_many("log", texts[:half], created_at=created[:half], dedup=False)
    engine.add_many("log", texts[half:], created_at=created[half:], dedup=False, source="extracted")
    engine.add("log", "Caroline loves hiking more than anything", importance=1.0, extract=False)
    engine.add("log", "Jon cooked dinner for the pottery class", importance=0.0, extract=False)
    gone = engine.add("log", "Gina went hiking near the lake again", extract=False).memories[0]
    engine.delete(gone.id)


def _view(hits: list[SearchHit]) -> list[tuple[str, dict[str, float]]]:
    return [(h.memory.id, h.signals) for h in hits]


def test_the_top_k_is_the_head_of_the_order_that_scores_every_candidate(engine: Engine) -> None:
    _fill(engine)
    retriever = engine._shared.retriever
    queries = ["who went hiking?", "what did Jon cook in May 2023?", "pottery", "a puppy from the shelter"]
    for query, floor in itertools.product(queries, (0.0, 0.3)):
        pool = engine.ranking.pool_size(10)
        everything = retriever.rank(engine.account, ["log"], query, pool, 10_000, floor)
        if floor == 0.0:
            assert len(everything) == 50, query  # every live memory, scored (the deleted one is not)
        for k in (1, 3, 10):
            top = retriever.rank(engine.account, ["log"], query, pool, k, floor)
            assert _view(top) == _view(everything[:k]), (query, floor, k)
            for hit, full in zip(top, everything, strict=False):
                assert abs(hit.score - full.score) < 1e-6  # the same sum; recency moves with the clock


def test_no_memory_scores_above_the_ceiling_of_its_relevance() -> None:
    now = _ts(2024, 6, 1)
    extremes = [
        RankFields(1, "a", source, importance, created, updated, recalls)
        for source in ("explicit", "extracted", "other")
        for importance in (0.0, 0.5, 1.0)
        for created, updated in ((now, now), (now - 400 * DAY_MS, now - DAY_MS), (now + DAY_MS, now + DAY_MS))
        for recalls in (0, 3, 10_000)
    ]
    for config in (DEFAULT_RANKING, RankingConfig(recency_weight=0.3, source_factor={"explicit": 1.2})):
        scorer = Scorer(now, config)
        for memory, relevance in itertools.product(extremes, (0.0, 0.25, 0.5, 0.999, 1.0)):
            score = scorer(memory, relevance)
            assert score == final_score(memory, relevance, now, config)
            assert score <= scorer.ceiling(relevance)
