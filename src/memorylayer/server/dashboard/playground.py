"""The recall playground: run ``recall`` as an agent would, see its exact answer and why each memory ranked
where it did (the signals of retrieval and the parts of the final score), and which near misses were left
out and why. A preview: it leaves the memories' access history as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from ... import limits
from ...engine import Engine
from ...engine.ranking import ScoreParts, explain_score, ordering_relevance
from ...errors import InvalidRequest
from ...types import RecallResult, SearchHit, now_ms
from ..core import recall_json
from .memories import base_context, where
from .web import PageRoute, int_param, page, problem, text_param

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class Explained:
    """One ranked memory: its rank, the retrieval signals and the final score's parts."""

    rank: int
    hit: SearchHit
    parts: ScoreParts
    reason: str = ""


def explain(engine: Engine, hits: list[SearchHit], reasons: list[str] | None = None) -> list[Explained]:
    now = now_ms()
    rows = []
    for rank, hit in enumerate(hits, start=1):
        parts = explain_score(hit.memory, ordering_relevance(hit.signals), now, engine.ranking)
        rows.append(Explained(rank, hit, parts, reasons[rank - 1] if reasons else ""))
    return rows


def near_misses(engine: Engine, result: RecallResult, floor: float) -> list[Explained]:
    """The best memories recall left out, each with the reason: under the threshold, or over the budget."""
    reasons = [
        f"relevance {h.signals.get('relevance', 0.0):.3f} is under the threshold's {floor:.2f}"
        if h.signals.get("relevance", 0.0) < floor
        else "passed the threshold but did not fit the item or token budget"
        for h in result.left_out
    ]
    return explain(engine, result.left_out, reasons)


def _settings(request: Request) -> dict[str, Any]:
    threshold = text_param(request, "threshold") or limits.DEFAULT_THRESHOLD
    if threshold not in limits.THRESHOLDS:
        raise InvalidRequest(f"threshold: expected one of {', '.join(limits.THRESHOLDS)}")
    return {
        "scope": text_param(request, "scope") or "",
        "query": text_param(request, "query") or "",
        "threshold": threshold,
        "max_items": int_param(text_param(request, "max_items"), "max_items", limits.DEFAULT_MAX_ITEMS),
        "max_tokens": int_param(text_param(request, "max_tokens"), "max_tokens", limits.DEFAULT_MAX_TOKENS),
    }


@router.get("/playground")
def playground(request: Request) -> Response:
    viewer, srv, account = where(request)
    engine = srv.engine_for(account.id)
    context = base_context(viewer, srv, account, "Recall playground")
    context.update(scopes=[n.scope for n in engine.namespaces()], result=None, wire=None, rows=[], misses=[])
    context.update(error=None, floor=None, form=_settings_or_defaults(request, context))
    form = context["form"]
    if context["error"] is None and form["scope"] and form["query"]:
        try:
            result = engine.recall(
                form["scope"],
                form["query"],
                max_items=form["max_items"],
                max_tokens=form["max_tokens"],
                threshold=form["threshold"],
                record_access=False,
                near_misses=limits.PLAYGROUND_NEAR_MISSES,
            )
            floor = engine.ranking.thresholds[form["threshold"]]
            context.update(result=result, wire=recall_json(result), floor=floor, rows=explain(engine, result.hits))
            context["misses"] = near_misses(engine, result, floor)
        except InvalidRequest as error:
            context["error"] = problem(error)
    return page(request, "playground.html", csrf=viewer.csrf, **context)


def _settings_or_defaults(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    try:
        return _settings(request)
    except InvalidRequest as error:
        context["error"] = problem(error)
    return {
        "scope": text_param(request, "scope") or "",
        "query": text_param(request, "query") or "",
        "threshold": limits.DEFAULT_THRESHOLD,
        "max_items": limits.DEFAULT_MAX_ITEMS,
        "max_tokens": limits.DEFAULT_MAX_TOKENS,
    }
