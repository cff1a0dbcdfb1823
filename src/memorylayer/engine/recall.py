"""The parts of recall around the search: its budget, and the orders used without a query's relevance.

A generic question ("hi", "what do you know about me?") gets the scope's *profile*: keyed facts
first, then by importance, then recency. When the embedding model cannot run, memories come by
upstream's fallback score, ``tier × (0.75 · recency + 0.25 · importance)`` (spec §6 step 4).
"""

from __future__ import annotations

from collections.abc import Callable

from ..embedding.embedder import count_tokens
from ..errors import IntegrityError, NotConfigured
from ..store.base import ListQuery, Store
from ..types import MemoryRecord, Ranking, SearchHit, now_ms
from .consolidation import as_units
from .ranking import RankingConfig, js_len, recency
from .retrieval import Retriever
from .text import is_generic, query_names

#: Memories read by each prior ordering (most important, most recently updated) of a query-less recall.
PRIOR_CANDIDATES = 200


def ordered(
    retriever: Retriever, account: str, scope: str, query: str, level: str, max_items: int, near_misses: int
) -> tuple[list[SearchHit], list[SearchHit], Ranking]:
    """Recall's candidates in final order, those that pass the threshold, and how they were ranked.

    By relevance (every candidate with no floor when near misses are asked for); a generic query by
    the profile; without a working model by upstream's fallback. Orders without a query pass whole.
    """
    config = retriever.config
    try:
        query_vector = retriever.embedder.embed([query])[0]
    except (NotConfigured, IntegrityError):  # the model's file is missing or not the pinned one
        hits = by_priors(retriever.store, account, scope, "recency_importance", config)
        return hits, hits, Ranking("recency_importance", reason="embedding_unavailable", ordering="recency_importance")
    if is_generic(query):
        hits = by_priors(retriever.store, account, scope, "profile", config)
        return hits, hits, Ranking("semantic", ordering="profile", signals=["key", "importance", "recency"])
    floor = relevance_floor(retriever.store, account, scope, query, level, config)
    pool = config.pool_size(max_items)
    # Hits past max_items, so a memory skipped for the budget leaves room for the next.
    limit, rank_floor = (2 * pool, 0.0) if near_misses else (pool, floor)
    hits = retriever.rank(account, [scope], query, pool, limit, rank_floor, query_vector)
    best = max((h.signals["relevance"] for h in hits), default=0.0)
    cut = max(floor, config.relative_floor[level] * best)
    signals = ["semantic", "lexical", "neighbour", "recency", "importance", "activation"]
    ranking = Ranking("semantic", signals=[*signals, "rerank"] if retriever.reranker is not None else signals)
    # A composite (consolidate(compose)) stands in for its parts.
    return hits, as_units([h for h in hits if h.signals["relevance"] >= cut]), ranking


def relevance_floor(store: Store, account: str, scope: str, query: str, level: str, config: RankingConfig) -> float:
    """The threshold's relevance floor, raised to ``strict`` when the query names someone or something
    the scope never mentions ("What did Caroline research?" asked of another conversation)."""
    floor = config.thresholds[level]
    if any(not store.lexical(account, scope, [name], 1) for name in query_names(query)):
        return max(floor, config.thresholds["strict"])
    return floor


def budget(max_tokens: int, chars_per_token: int | None) -> tuple[int, Callable[[str], int]]:
    """The context's budget and how text is measured against it: word pieces, or JavaScript characters."""
    if chars_per_token is None:
        return max_tokens, count_tokens
    return max_tokens * chars_per_token, js_len


def by_priors(store: Store, account: str, scope: str, ordering: str, config: RankingConfig) -> list[SearchHit]:
    """The scope's memories in ``ordering`` (``profile`` or ``recency_importance``), best first.

    Reads the most important and the most recently updated memories (at most ``PRIOR_CANDIDATES``
    of each): the only ones either order can put first.
    """
    found: dict[str, MemoryRecord] = {}
    for order_by in ("importance", "updated_at"):
        query = ListQuery(account=account, scope=scope, order_by=order_by, limit=PRIOR_CANDIDATES)
        found.update((m.id, m) for m in store.list(query))
    now = now_ms()
    scored = []
    for memory in found.values():
        fresh = recency(memory, now, config)
        if ordering == "profile":
            key = (float(memory.key is None), -memory.importance, -fresh)
            score = 0.5 * memory.importance + 0.5 * fresh
        else:
            tier = 0.7 if memory.source == "extracted" else 1.0
            score = tier * (0.75 * fresh + 0.25 * memory.importance)
            key = (-score, 0.0, 0.0)
        signals = {"recency": fresh, "importance": memory.importance}
        scored.append((key, -memory.updated_at, memory.id, SearchHit(memory, score, signals)))
    return [hit for *_, hit in sorted(scored, key=lambda item: item[:3])]
