"""verify over REST (docs/operations.md): a statement checked against memory, with the evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...engine.verify import CANDIDATES, Verification
from .. import budgets
from .. import operation_schemas as ops
from ..auth import READ, Caller, authenticate, require
from ..core import body, memory_json, ok, route, state

router = APIRouter(tags=["memories"])


def verification_json(result: Verification) -> dict[str, Any]:
    evidence = [{"memory": memory_json(e.memory), "check": e.check, "reason": e.reason} for e in result.evidence]
    return {"statement": result.statement, "verdict": result.verdict, "method": result.method, "evidence": evidence}


@route(
    router,
    "POST",
    "/v1/verify",
    summary="Extension: verify a statement against memory (supported, contradicted, not enough information)",
    schema=ops.VERIFY,
    errors=(400, 401, 403, 429, 500),
)
def verify(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.VERIFY)
) -> JSONResponse:
    require(caller, READ)
    srv = state(request)
    budgets.charge(srv, caller, "verify")
    engine = srv.engine_for(caller.account.id)
    result = engine.verify(data["scope"], data["statement"], max_items=data.get("maxItems", CANDIDATES))
    return ok(request, verification_json(result))
