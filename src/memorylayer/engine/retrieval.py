"""The retrieval pipeline shared by ``search`` and ``recall``: candidates, fusion, rerank, final order.

1. Candidates from BM25 (the store's lexical index, fed with our own analysed terms) and from the
   vector index, so a keyword-only hit can enter the pool as well as a paraphrase.
2. Fusion into one relevance in [0, 1] (:func:`.ranking.fuse`).
3. An optional cross-encoder blended into the head of the list.
4. Final order from relevance and the priors of :func:`.ranking.final_score`.

Ranking reads only the store's ranking columns, and only of the candidates whose relevance can still
reach the top (:meth:`Retriever._best`); full rows are fetched for the results alone.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..embedding.embedder import Embedder, serving
from ..store.base import RankFields, Store, VectorIndex
from ..types import SearchHit, now_ms
from .affinity import bears_on, topics_for
from .ranking import RankingConfig, Scorer, coverage, fuse, idf, ordering_relevance
from .text import analyze_query
from .when import TimeWindow, time_window

Signals = dict[int, dict[str, float]]


@dataclass
class Retriever:
    """One database's retrieval: the store, its vector index, the embedder and an optional reranker."""

    store: Store
    index: VectorIndex
    embedder: Embedder
    config: RankingConfig
    reranker: Any = None

    def rank(
        self,
        account: str,
        scopes: Iterable[str],
        query: str,
        pool: int,
        limit: int,
        floor: float = 0.0,
        query_vector: Any = None,
    ) -> list[SearchHit]:
        """The best ``limit`` memories of ``scopes`` with relevance >= ``floor``, in final order.

        ``query_vector`` is the query's embedding when the caller already made it. A time the query
        names (engine/when.py) lifts the memories written then, by ``time_window_weight``.
        """
        with serving(self.embedder):  # overlapping requests embed on a core each (OnnxEmbedder.serving)
            if query_vector is None:
                query_vector = self.embedder.embed([query])[0]
            terms = analyze_query(query)
            documents, frequencies = self.store.term_stats(terms)
            weights = {t: idf(documents, frequencies.get(t, 0)) for t in terms}
            match_terms = lexical_match_terms(terms, frequencies, documents, self.config)
            signals: Signals = {}
            for scope in scopes:
                found = self._candidates(account, scope, match_terms, query_vector, pool)
                scoped = self._signals(found, weights)
                scoped.update(self._signals(self._neighbours(account, scope, scoped, query_vector), weights))
                lift_neighbours(scoped, self.config)
                signals.update(scoped)
            self._affinity(account, query, signals)
            return self._order(account, query, signals, limit, floor)

    def _window(self, query: str, now: int) -> TimeWindow | None:
        return time_window(query, now) if self.config.time_window_weight > 0 else None

    def _signals(self, found: dict[int, list[float]], weights: dict[str, float]) -> Signals:
        memory_terms = self.store.terms_for(list(found)) if found else {}
        signals: Signals = {}
        for rowid, (cosine, bm25) in found.items():
            lexical = coverage(weights, memory_terms.get(rowid, set()))
            signals[rowid] = {
                "semantic": cosine,
                "lexical": lexical,
                "bm25": bm25,
                "relevance": fuse(cosine, lexical, self.config),
            }
        return signals

    def _neighbours(self, account: str, scope: str, signals: Signals, query_vector: Any) -> dict[int, list[float]]:
        """(cosine, 0) of the memories written next to the best candidates that are not candidates.

        Consecutive writes (a conversation's turns) have consecutive rowids: the turn after a
        question often answers it without sharing its words. Only rows of ``scope`` come back.
        """
        if self.config.neighbour_lift <= 0 or not signals:
            return {}
        head = sorted(signals, key=lambda r: -signals[r]["relevance"])[: self.config.neighbour_depth]
        steps = (-2, -1, 1, 2) if self.config.neighbour_lift_2 > 0 else (-1, 1)
        wanted = sorted({r + d for r in head for d in steps} - set(signals))
        vectors = self.index.vectors(account, scope, wanted) if wanted else {}
        return {rowid: [float(vector @ query_vector), 0.0] for rowid, vector in vectors.items()}

    def _affinity(self, account: str, query: str, signals: Signals) -> None:
        """Raise the relevance of candidate user facts that bear on what the question is for, in place."""
        if self.config.affinity_relevance <= 0 or not signals:
            return
        topics = topics_for(query)
        if not topics:
            return
        for rowid, record in self.store.get_many_by_rowid(account, list(signals)).items():
            if bears_on(record.value, topics):
                s = signals[rowid]
                s["affinity"] = self.config.affinity_relevance
                s["relevance"] = max(s["relevance"], self.config.affinity_relevance)

    def _candidates(
        self, account: str, scope: str, match_terms: list[str], query_vector: Any, pool: int
    ) -> dict[int, list[float]]:
        """(cosine, bm25) of the union of both retrievers' candidates; keyword-only ones get their cosine."""
        found: dict[int, list[float]] = {}
        for rowid, bm25 in self.store.lexical(account, scope, match_terms, pool):
            found[rowid] = [0.0, bm25]
        lexical_only = set(found)
        for rowid, cosine in self.index.search(account, scope, query_vector, pool):
            found.setdefault(rowid, [0.0, 0.0])[0] = cosine
            lexical_only.discard(rowid)
        if lexical_only:
            for rowid, vector in self.index.vectors(account, scope, list(lexical_only)).items():
                found[rowid][0] = float(vector @ query_vector)
        return found

    def _order(self, account: str, query: str, signals: Signals, limit: int, floor: float) -> list[SearchHit]:
        fields = None
        if self.reranker is not None:
            # The cross-encoder reads the head of the live candidates: every ranking column first.
            fields = self.store.rank_fields(account, list(signals))
            signals = {r: s for r, s in signals.items() if r in fields}
            self._rerank(account, query, signals)
        ranked = self._best(account, query, signals, fields, now_ms(), limit, floor)
        records = self.store.get_many_by_rowid(account, [rowid for _, rowid in ranked])
        return [SearchHit(records[rowid], score, signals[rowid]) for score, rowid in ranked if rowid in records]

    def _best(
        self,
        account: str,
        query: str,
        signals: Signals,
        fields: dict[int, RankFields] | None,
        now: int,
        limit: int,
        floor: float,
    ) -> list[tuple[float, int]]:
        """The ``limit`` best (final score, rowid) of the live ``signals`` with relevance >= ``floor``.

        Candidates are scored in order of the highest score their relevance allows
        (:meth:`.Scorer.ceiling`), their ranking columns read (unless ``fields`` holds them) a batch
        at a time: once the next one's ceiling is under the ``limit``-th score found, no later one
        can enter the top, so most candidates' columns are never read nor scored.
        """
        if limit <= 0:
            return []
        config = self.config
        score = Scorer(now, config)
        window = self._window(query, now)
        in_window = config.time_window_weight if window is not None else 0.0
        queue = sorted(
            (
                (max(base, base + in_window * (1.0 - base)), rowid)  # timed_relevance's highest
                for rowid, s in signals.items()
                if s["relevance"] >= floor
                for base in (ordering_relevance(s),)
            ),
            reverse=True,
        )
        scored: list[tuple[float, int]] = []
        columns: dict[int, RankFields] = {}
        kth, at, batch = -math.inf, 0, limit + 16
        while at < len(queue) and not (len(scored) >= limit and score.ceiling(queue[at][0]) < kth):
            chunk = [rowid for _, rowid in queue[at : at + batch]]
            at, batch = at + batch, batch * 2
            read = fields if fields is not None else self.store.rank_fields(account, chunk)
            for rowid in chunk:
                if rowid not in read:
                    continue  # no longer live
                columns[rowid] = memory = read[rowid]
                s = signals[rowid]
                if window is not None and window.holds(memory.created_at):
                    s["time"] = config.time_window_weight
                scored.append((score(memory, timed_relevance(s)), rowid))
            if len(scored) >= limit:
                kth = heapq.nlargest(limit, scored)[-1][0]
        return sorted(scored, key=lambda item: (-item[0], -columns[item[1]].updated_at, columns[item[1]].id))[:limit]

    def _rerank(self, account: str, query: str, signals: Signals) -> None:
        """Blend the cross-encoder's score into the relevance of the head of the list, in place."""
        if self.reranker is None or not signals:
            return
        config = self.config
        head = sorted(signals, key=lambda r: -signals[r]["relevance"])[: config.rerank_depth]
        records = self.store.get_many_by_rowid(account, head)
        head = [r for r in head if r in records]
        scores = self.reranker.score(query, [records[r].value for r in head])
        for rowid, score in zip(head, scores, strict=True):
            s = signals[rowid]
            s["rerank"] = float(score)
            s["relevance"] = config.rerank_weight * float(score) + (1 - config.rerank_weight) * s["relevance"]


def timed_relevance(signals: dict[str, float]) -> float:
    """The ordering relevance, moved ``time`` of the way to 1 for a memory written in the window the query names."""
    base = ordering_relevance(signals)
    return base + signals.get("time", 0.0) * (1.0 - base)


def lift_neighbours(signals: Signals, config: RankingConfig) -> None:
    """Give each memory ``neighbour_lift`` × the relevance of the best memory written next to it, in place.

    A chat turn that answers a question rarely repeats it ("When did you go?" → "Last Friday!"); the
    turn that matches the question lifts the turns around it. Rowids are write order, so neighbours
    are rowid ± 1 among the scope's candidates (``Retriever._neighbours`` brings them in).
    """
    lift = config.neighbour_lift
    if lift <= 0:
        return
    own = {rowid: s["relevance"] for rowid, s in signals.items()}
    far = config.neighbour_lift_2
    for rowid, s in signals.items():
        best = lift * max(own.get(rowid - 1, 0.0), own.get(rowid + 1, 0.0))
        if far > 0:
            best = max(best, far * max(own.get(rowid - 2, 0.0), own.get(rowid + 2, 0.0)))
        if best > 0:
            s["neighbour"] = best


def lexical_match_terms(
    terms: list[str], frequencies: dict[str, int], documents: int, config: RankingConfig
) -> list[str]:
    """The query terms BM25 matches on: rarest first, within a budget of postings.

    FTS5 scores every row a term occurs in (about 1 µs each), so a term found in a large share of
    all memories costs milliseconds at 100k memories and adds little to BM25. Such terms still count
    in ``coverage`` for every candidate; they just do not bring candidates in.
    """
    chosen, postings = [], 0
    for term in sorted(terms, key=lambda t: frequencies.get(t, 0)):
        frequency = frequencies.get(term, 0)
        if frequency > config.common_term_share * documents or postings + frequency > config.posting_budget:
            break
        chosen.append(term)
        postings += frequency
    return chosen
