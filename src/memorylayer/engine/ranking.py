"""How candidates become ranked results: fusion, optional rerank, final order, thresholds, context.

Every score here is in [0, 1] and absolute (never normalised per query), so a score means the same
thing across calls and a threshold can be applied to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..limits import IMPORTANCE_MAX
from ..types import MemoryRecord


class Rankable(Protocol):
    """What the final score reads of a memory (a full record or the store's ranking columns)."""

    @property
    def source(self) -> str: ...
    @property
    def importance(self) -> float: ...
    @property
    def created_at(self) -> int: ...
    @property
    def updated_at(self) -> int: ...
    @property
    def recall_count(self) -> int: ...


DAY_MS = 86_400_000
_LN2 = math.log(2)


@dataclass(frozen=True)
class RankingConfig:
    """Weights of the retrieval pipeline; defaults are calibrated on all-MiniLM-L6-v2 (docs/retrieval.md)."""

    #: Candidates taken from each retriever: max(pool, top_k * pool_factor).
    pool: int = 50
    pool_factor: int = 10
    #: Query terms found in more than this share of all memories are left out of the BM25 match.
    common_term_share: float = 0.2
    #: At most this many postings (term occurrences) are scored by FTS5 per query.
    posting_budget: int = 2000
    #: How far a full lexical match (every query term, IDF-weighted) lifts relevance towards 1.
    lexical_weight: float = 1.0
    #: A memory's order uses max(its relevance, neighbour_lift × the relevance of the memory written
    #: just before or after it): a hit lifts the turn that answers it. 0 turns it off. Neighbours of
    #: the best ``neighbour_depth`` candidates join the pool. Chosen by leave-one-conversation-out.
    neighbour_lift: float = 0.85
    neighbour_depth: int = 30
    #: The same for memories two writes away (0: only the adjacent ones are lifted); they join the
    #: pool too. 0.9 was chosen by leave-one-conversation-out (9 of 10 folds, docs/benchmarks.md).
    neighbour_lift_2: float = 0.9
    #: A user fact that bears on what the question is for (engine/affinity.py: cooking -> diet,
    #: allergies) is recalled at least at this relevance. 0 turns the map off.
    affinity_relevance: float = 0.3
    #: A query naming a time ("in May 2023", "last March"; engine/when.py) moves the memories written
    #: in that window this far towards the top of the order (relevance thresholds are unchanged).
    #: 0 turns it off. Chosen by leave-one-conversation-out on LoCoMo (docs/benchmarks.md).
    time_window_weight: float = 0.35
    #: With a cross-encoder, relevance = rerank_weight * rerank + (1 - rerank_weight) * fused.
    rerank_weight: float = 0.7
    rerank_depth: int = 30
    #: Final score = source factor * (relevance share + the three priors below).
    recency_weight: float = 0.08
    importance_weight: float = 0.07
    activation_weight: float = 0.05
    recency_half_life_days: float = 30.0
    #: ACT-R decay exponent for base-level activation.
    activation_decay: float = 0.5
    source_factor: dict[str, float] = field(
        default_factory=lambda: {"explicit": 1.0, "imported": 1.0, "extracted": 0.95}
    )
    #: Recall also drops memories under this share of the best candidate's relevance, per threshold
    #: (nested like the floors: permissive keeps everything over its absolute floor).
    relative_floor: dict[str, float] = field(
        default_factory=lambda: {"strict": 0.7, "balanced": 0.7, "permissive": 0.0}
    )
    #: Minimum relevance to be recalled; strict ⊂ balanced ⊂ permissive. A query naming someone the
    #: scope never mentions is held to ``strict`` (engine/recall.py).
    thresholds: dict[str, float] = field(default_factory=lambda: {"strict": 0.6, "balanced": 0.13, "permissive": 0.08})

    def pool_size(self, top_k: int) -> int:
        return max(self.pool, top_k * self.pool_factor)

    @property
    def relevance_weight(self) -> float:
        return 1.0 - self.recency_weight - self.importance_weight - self.activation_weight


DEFAULT_RANKING = RankingConfig()


def idf(documents: int, frequency: int) -> float:
    """Inverse document frequency that stays positive however small the collection."""
    return math.log(1.0 + (documents + 1) / (frequency + 0.5))


def coverage(query_terms: dict[str, float], memory_terms: set[str]) -> float:
    """Share of the query's IDF weight that the memory contains, in [0, 1].

    Unlike raw BM25 this is absolute: it does not depend on how many memories the scope holds, so
    it means the same in a five-fact scope and in a 100k-turn log.
    """
    total = sum(query_terms.values())
    if total <= 0:
        return 0.0
    return sum(w for term, w in query_terms.items() if term in memory_terms) / total


def fuse(cosine: float, lexical: float, config: RankingConfig) -> float:
    """Relevance as a noisy OR of the two signals: either one alone can make a memory relevant.

    ``semantic + w * lexical * (1 - semantic)``: with no shared word the cosine stands as it is (a
    paraphrase is not penalised), and shared rare words lift it towards 1.
    """
    semantic = min(max(cosine, 0.0), 1.0)
    return semantic + config.lexical_weight * lexical * (1.0 - semantic)


def ordering_relevance(signals: dict[str, float]) -> float:
    """The relevance a memory is ordered by: its own, or the lift of a neighbour that matched better.

    Thresholds read the memory's own ``relevance``; a lift only moves it within what passes.
    """
    return max(signals.get("relevance", 0.0), signals.get("neighbour", 0.0))


def recency(memory: Rankable, now: int, config: RankingConfig) -> float:
    age_days = max(0, now - memory.updated_at) / DAY_MS
    return math.exp(-_LN2 * age_days / config.recency_half_life_days)


def activation(memory: Rankable, now: int, config: RankingConfig) -> float:
    """ACT-R base-level activation from the access count and lifetime (Petrov's approximation), in (0, 1).

    B = ln(n / (1 - d)) - d * ln(L), with n accesses (the write counts as one) over a lifetime of L days.
    """
    d = config.activation_decay
    accesses = memory.recall_count + 1
    lifetime_days = max(now - memory.created_at, 60_000) / DAY_MS
    base = math.log(accesses / (1 - d)) - d * math.log(lifetime_days)
    return 1.0 / (1.0 + math.exp(-base))


@dataclass(frozen=True)
class ScoreParts:
    """Why a memory scored what it did: each weighted part of the sum, the source factor, the final score.

    ``score == clamp((relevance + recency + importance + activation) * source_factor, 0, 1)``.
    """

    relevance: float
    recency: float
    importance: float
    activation: float
    source_factor: float
    score: float


def explain_score(memory: Rankable, relevance: float, now: int, config: RankingConfig) -> ScoreParts:
    """The parts of :func:`final_score` for ``memory`` (the dashboard's recall playground shows them)."""
    parts = (
        config.relevance_weight * relevance,
        config.recency_weight * recency(memory, now, config),
        config.importance_weight * memory.importance,
        config.activation_weight * activation(memory, now, config),
    )
    factor = config.source_factor.get(memory.source, 1.0)
    return ScoreParts(*parts, source_factor=factor, score=min(max(sum(parts) * factor, 0.0), 1.0))


def final_score(memory: Rankable, relevance: float, now: int, config: RankingConfig) -> float:
    return Scorer(now, config)(memory, relevance)


class Scorer:
    """:func:`final_score` at one ``now``, with the config's constants read once: ranking scores every
    candidate of every query with it.

    The arithmetic is :func:`explain_score`'s, operation for operation, so the floats are the same
    (a test holds them equal).
    """

    def __init__(self, now: int, config: RankingConfig) -> None:
        self.now = now
        self.weights = (
            config.relevance_weight,
            config.recency_weight,
            config.importance_weight,
            config.activation_weight,
        )
        self.half_life = config.recency_half_life_days
        self.decay = config.activation_decay
        self.source_factor = config.source_factor
        factors = [1.0, *config.source_factor.values()]
        #: The ceiling below holds only when no weight or factor is negative (every config in use).
        self._bounded = min(*self.weights, *factors) >= 0
        self._top_factor = max(factors)

    def ceiling(self, relevance: float) -> float:
        """The highest score a memory of ``relevance`` can get: recency, importance and activation at
        their maximum (1), the largest source factor.

        The same sum in the same order with each part at least as large, so it bounds the floats too
        (rounding is monotone).
        """
        if not self._bounded:
            return math.inf
        relevance_weight, recency_weight, importance_weight, activation_weight = self.weights
        score = relevance_weight * relevance + recency_weight + importance_weight * IMPORTANCE_MAX + activation_weight
        return min(max(score * self._top_factor, 0.0), 1.0)

    def __call__(self, memory: Rankable, relevance: float) -> float:
        now, d = self.now, self.decay
        relevance_weight, recency_weight, importance_weight, activation_weight = self.weights
        age_days = max(0, now - memory.updated_at) / DAY_MS
        recent = math.exp(-_LN2 * age_days / self.half_life)
        lifetime_days = max(now - memory.created_at, 60_000) / DAY_MS
        base = math.log((memory.recall_count + 1) / (1 - d)) - d * math.log(lifetime_days)
        score = (
            relevance_weight * relevance
            + recency_weight * recent
            + importance_weight * memory.importance
            + activation_weight * (1.0 / (1.0 + math.exp(-base)))
        )
        return min(max(score * self.source_factor.get(memory.source, 1.0), 0.0), 1.0)


def render(memory: MemoryRecord) -> str:
    """A memory as one context line: keyed facts read ``key: value``."""
    return f"{memory.key}: {memory.value}" if memory.key else memory.value


def js_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def build_context(
    memories: list[MemoryRecord],
    defaults: dict[str, str] | None,
    max_items: int,
    budget: int,
    measure: Callable[[str], int] = js_len,
) -> tuple[str, list[MemoryRecord]]:
    """The prompt-ready string within ``max_items`` and ``budget``, and the memories it kept.

    ``measure`` sizes the ``\\n``-joined text (JavaScript's length by default, the wire's unit; recall
    in process counts word pieces). Memories are taken in rank order and one that does not fit is
    skipped while filling goes on (a deliberate deviation from spec §6 step 6, where one over-long top
    memory empties the context). Defaults fill remaining slots in their given order, stopping at the
    first that does not fit, as the spec says.
    """
    lines: list[str] = []
    kept: list[MemoryRecord] = []
    for memory in memories:
        if len(lines) >= max_items:
            break
        candidate = [*lines, render(memory)]
        if measure("\n".join(candidate)) <= budget:
            lines, kept = candidate, [*kept, memory]
    for name, value in (defaults or {}).items():
        if len(lines) >= max_items:
            break
        candidate = [*lines, f"{name}: {value}"]
        if measure("\n".join(candidate)) > budget:
            break
        lines = candidate
    return "\n".join(lines), kept
