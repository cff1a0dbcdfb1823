"""Reads "as of" an instant: what was valid then, superseded values included, ranked as if it were then.

The live set has its indexes (BM25, vectors); the memories valid at a past instant are a different
set (superseded rows with their interval, keyed values from history), so an as-of read is an exact
scan of the scope's rows valid then (``Store.valid_at``), scored with the same fusion and final
order as :mod:`.retrieval`, recency and activation measured at that instant. A keyed value read from
history has no stored vector; it is embedded on the fly (only those, a handful per key).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..store.base import ListQuery
from ..types import MemoryRecord, Page, Ranking, SearchHit
from .cursor import encode_cursor
from .ranking import coverage, final_score, fuse, idf
from .recall import relevance_floor
from .retrieval import Retriever, timed_relevance
from .text import analyze, analyze_query
from .when import time_window


def valid_records(retriever: Retriever, account: str, scopes: Iterable[str], at: int) -> list[MemoryRecord]:
    """Every memory of ``scopes`` whose value held at ``at`` (and has not expired since)."""
    return [record for scope in scopes for record in retriever.store.valid_at(account, scope, at)]


def rank_as_of(
    retriever: Retriever, account: str, scopes: Iterable[str], query: str, at: int, limit: int, floor: float = 0.0
) -> list[SearchHit]:
    """The best ``limit`` memories valid at ``at`` with relevance >= ``floor``, best first."""
    records = valid_records(retriever, account, scopes, at)
    if not records:
        return []
    embedder, config = retriever.embedder, retriever.config
    query_vector = embedder.embed([query])[0]
    terms = analyze_query(query)
    documents, frequencies = retriever.store.term_stats(terms)
    weights = {t: idf(documents, frequencies.get(t, 0)) for t in terms}
    stored = retriever.store.vectors_of(account, [r.id for r in records if r.model is not None])
    vectors = {}
    for i, record in enumerate(records):
        found = stored.get(record.id) if record.model is not None else None
        if found is not None and found[0] == embedder.model_id:
            vectors[i] = found[1]
    todo = [i for i in range(len(records)) if i not in vectors]
    if todo:
        vectors.update(zip(todo, embedder.embed([records[i].value for i in todo]), strict=True))
    window = time_window(query, at) if config.time_window_weight > 0 else None
    scored = []
    for i, record in enumerate(records):
        cosine = float(vectors[i] @ query_vector)
        lexical = coverage(weights, set(analyze(f"{record.key or ''} {record.value}", record.created_at)))
        relevance = fuse(cosine, lexical, config)
        if relevance < floor:
            continue
        signals = {"semantic": cosine, "lexical": lexical, "relevance": relevance}
        if window is not None and window.holds(record.created_at):
            signals["time"] = config.time_window_weight
        scored.append((final_score(record, timed_relevance(signals), at, config), record, signals))
    scored.sort(key=lambda item: (-item[0], -item[1].updated_at, item[1].id))
    return [SearchHit(record, score, signals) for score, record, signals in scored[:limit]]


def ordered_as_of(
    retriever: Retriever, account: str, scope: str, query: str, at: int, level: str, max_items: int
) -> tuple[list[SearchHit], list[SearchHit], Ranking]:
    """Recall's candidates valid at ``at`` in final order, those that pass the threshold, and the ranking."""
    config = retriever.config
    floor = relevance_floor(retriever.store, account, scope, query, level, config)
    hits = rank_as_of(retriever, account, [scope], query, at, 2 * config.pool_size(max_items))
    best = max((h.signals["relevance"] for h in hits), default=0.0)
    cut = max(floor, config.relative_floor[level] * best)
    ranking = Ranking("semantic", ordering="as_of", signals=["semantic", "lexical", "recency", "importance"])
    return hits, [h for h in hits if h.signals["relevance"] >= cut], ranking


def list_as_of(retriever: Retriever, account: str, query: ListQuery, at: int, include_total: bool) -> Page:
    """``Engine.list`` over the memories valid at ``at`` (an exact scan), with the same exact cursor."""
    scopes = [query.scope] if query.scope is not None else retriever.store.scopes(account)
    rows = [r for r in valid_records(retriever, account, scopes, at) if _matches(r, query)]
    order = query.order_by
    reverse = query.order_dir == "desc"
    rows.sort(key=lambda r: (getattr(r, order) is None, getattr(r, order) or 0, r.id), reverse=reverse)
    if reverse:  # NULLS LAST either way, as the store orders them
        rows.sort(key=lambda r: getattr(r, order) is None)
    total = len(rows) if include_total else None
    if query.after is not None:
        value, last_id = query.after
        position = next((i for i, r in enumerate(rows) if (getattr(r, order), r.id) == (value, last_id)), len(rows) - 1)
        rows = rows[position + 1 :]
    page = rows[: query.limit]
    more = len(rows) > query.limit
    next_cursor = encode_cursor(getattr(page[-1], order), page[-1].id) if more and page else None
    return Page(memories=page, next_cursor=next_cursor, total=total)


def _matches(record: MemoryRecord, query: ListQuery) -> bool:
    """Whether ``record`` passes the filters of ``query`` (as-of lists filter here what the store filters in SQL)."""
    folded = None if query.search is None else query.search.casefold()
    checks = (
        query.source is None or record.source == query.source,
        folded is None or folded in record.value.casefold() or folded in (record.key or "").casefold(),
        query.key_search is None or (record.key is not None and query.key_search.casefold() in record.key.casefold()),
        query.created_after is None or record.created_at > query.created_after,
        query.created_before is None or record.created_at < query.created_before,
        not query.expiring or record.expires_at is not None,
    )
    return all(checks)
