"""Extension route: consolidate and consolidate(compose) (``POST /v1/consolidate``, docs/operations.md).

``mode: "merge"`` (the default) is open on every plan, as seed 000 lists consolidate among the Free
tools; ``mode: "compose"`` is an advanced operation (Pro+ and up), its dry runs included. Neither is
metered by a monthly budget; what a consolidation adds counts against the account's memory limit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel

from .. import accounts, budgets
from .. import operation_schemas as ops
from ..auth import WRITE, Caller, authenticate, require
from ..core import body, ok, route, state

router = APIRouter(tags=["memories"])


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(k): _camel(item) for k, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


@route(
    router,
    "POST",
    "/v1/consolidate",
    summary="Extension: consolidate (merge near duplicates, decay stale memories) or compose (Pro+ and up)",
    schema=ops.CONSOLIDATE,
    errors=(400, 401, 403, 429, 500),
)
def consolidate(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.CONSOLIDATE)
) -> JSONResponse:
    require(caller, WRITE)
    srv = state(request)
    mode = data.get("mode", "merge")
    if mode == "compose":
        budgets.charge(srv, caller, "compose")
    result = srv.engine_for(caller.account.id).consolidate(
        data["scope"],
        mode=mode,
        dry_run=data.get("dryRun", False),
        offline=data.get("offline", False),
        admit=accounts.quota_guard(srv, caller),
    )
    return ok(request, _camel(result.to_dict()))
