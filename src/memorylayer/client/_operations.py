"""Calls of the memory operations' REST extensions (docs/operations.md), shared by Client and AsyncClient."""

from __future__ import annotations

from .. import limits as L
from . import models as m
from ._base import Call
from ._checks import check, integer, text
from ._checks import compact as _compact


def answer(scope: str, question: str, threshold: str | None, max_items: int | None) -> Call[m.AnswerResponse]:
    check(
        text("scope", scope, L.SCOPE),
        text("question", question, L.QUERY),
        integer("maxItems", max_items, L.MAX_ITEMS),
    )
    body = _compact(scope=scope, question=question, maxItems=max_items, threshold=threshold)
    return Call("POST", "/v1/recall/answer", m.AnswerResponse, body)


def remember_document(scope: str, document: str, text_: str, importance: float | None) -> Call[m.DocumentResponse]:
    check(text("scope", scope, L.SCOPE), text("document", document, L.DOCUMENT_NAME))
    body = _compact(scope=scope, document=document, text=text_, importance=importance)
    # Chunks are keyed by position, so a retried call rewrites the same chunks.
    return Call("POST", "/v1/documents", m.DocumentResponse, body)


def neighbours(memory_id: str, radius: int | None) -> Call[m.NeighboursResponse]:
    check(integer("radius", radius, L.NEIGHBOUR_RADIUS))
    return Call("POST", "/v1/documents/neighbours", m.NeighboursResponse, _compact(memoryId=memory_id, radius=radius))


def consolidate(
    scope: str, mode: str | None, dry_run: bool | None, offline: bool | None
) -> Call[m.ConsolidateResponse]:
    check(text("scope", scope, L.SCOPE))
    body = _compact(scope=scope, mode=mode, dryRun=dry_run, offline=offline)
    return Call("POST", "/v1/consolidate", m.ConsolidateResponse, body)


def weave(scope: str) -> Call[m.WeaveResponse]:
    check(text("scope", scope, L.SCOPE))
    return Call("POST", "/v1/weave", m.WeaveResponse, {"scope": scope})


def explore(
    scope: str,
    query: str,
    max_items: int | None,
    seeds: int | None,
    max_hops: int | None,
    max_nodes: int | None,
    decay: float | None,
) -> Call[m.ExploreResponse]:
    check(
        text("scope", scope, L.SCOPE),
        text("query", query, L.QUERY),
        integer("maxItems", max_items, L.MAX_ITEMS),
        integer("seeds", seeds, L.MAX_ITEMS),
        integer("maxHops", max_hops, L.EXPLORE_HOPS),
        integer("maxNodes", max_nodes, L.EXPLORE_NODES),
    )
    body = _compact(
        scope=scope, query=query, maxItems=max_items, seeds=seeds, maxHops=max_hops, maxNodes=max_nodes, decay=decay
    )
    return Call("POST", "/v1/recall/explore", m.ExploreResponse, body)


def ripple(memory_id: str, apply: bool | None) -> Call[m.RippleResponse]:
    return Call("POST", "/v1/ripple", m.RippleResponse, _compact(memoryId=memory_id, apply=apply))


def budgets() -> Call[m.BudgetsResponse]:
    return Call("GET", "/v1/budgets", m.BudgetsResponse)


def verify(scope: str, statement: str, max_items: int | None) -> Call[m.VerifyResponse]:
    check(
        text("scope", scope, L.SCOPE),
        text("statement", statement, L.STATEMENT),
        integer("maxItems", max_items, L.MAX_ITEMS),
    )
    body = _compact(scope=scope, statement=statement, maxItems=max_items)
    return Call("POST", "/v1/verify", m.VerifyResponse, body)
