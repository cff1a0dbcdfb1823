"""Extension routes: weave, recall(explore) and ripple (docs/operations.md).

weave and ripple are advanced operations (plans with ``advanced_operations``); explore is metered
by the key's monthly ``explore_calls`` budget. Each is one engine call.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ... import limits
from ...errors import NotFound
from .. import budgets
from .. import operation_schemas as ops
from ..auth import READ, WRITE, Caller, authenticate, require
from ..core import UUID_RE, body, memory_json, ok, route, state

router = APIRouter(tags=["memories"])
AUTH_ERRORS = (400, 401, 403, 429)


@route(
    router,
    "POST",
    "/v1/weave",
    summary="Extension: weave, (re)build the links between the memories of a namespace (advanced)",
    schema=ops.WEAVE,
    errors=AUTH_ERRORS,
)
def weave(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.WEAVE)
) -> JSONResponse:
    require(caller, WRITE)
    srv = state(request)
    budgets.charge(srv, caller, "weave")
    return ok(request, srv.engine_for(caller.account.id).weave(data["scope"]).to_dict())


@route(
    router,
    "POST",
    "/v1/recall/explore",
    summary="Extension: recall(explore), recall's hits then the memories linked to them (metered per key and month)",
    schema=ops.EXPLORE,
    errors=AUTH_ERRORS,
)
def recall_explore(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.EXPLORE)
) -> JSONResponse:
    require(caller, READ)
    srv = state(request)
    budgets.charge(srv, caller, "explore")
    found = srv.engine_for(caller.account.id).explore(
        data["scope"],
        data["query"],
        max_items=data.get("maxItems", limits.DEFAULT_MAX_ITEMS),
        seeds=data.get("seeds"),
        max_hops=data.get("maxHops", limits.DEFAULT_EXPLORE_HOPS),
        max_nodes=data.get("maxNodes", limits.DEFAULT_EXPLORE_NODES),
        decay=data.get("decay", limits.DEFAULT_EXPLORE_DECAY),
    )
    return ok(request, found.to_dict(memory_json))


@route(
    router,
    "POST",
    "/v1/ripple",
    summary="Extension: ripple, the memories that rest on one; apply flags them for review (advanced)",
    schema=ops.RIPPLE,
    errors=(*AUTH_ERRORS, 404),
)
def ripple(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.RIPPLE)
) -> JSONResponse:
    apply = data.get("apply", False)
    require(caller, WRITE if apply else READ)
    if not UUID_RE.fullmatch(data["memoryId"]):
        raise NotFound(f"memory {data['memoryId']} does not exist")  # malformed ids are 404 (DESIGN.md)
    srv = state(request)
    budgets.charge(srv, caller, "ripple")
    result = srv.engine_for(caller.account.id).ripple(data["memoryId"].lower(), apply=apply).to_dict(memory_json)
    result["memoryId"] = result.pop("memory_id")  # the wire is camelCase
    return ok(request, result)
