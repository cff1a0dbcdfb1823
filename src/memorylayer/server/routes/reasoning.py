"""Extension routes: code memory (``/v1/code/*``) and formal reasoning (``/v1/domain``, ``/v1/prove``, ``/v1/audit``).

Our own design, documented in docs/reasoning.md and the OpenAPI schema. Each route makes one
engine call; the operation names of :mod:`memorylayer.engine.code` and :mod:`memorylayer.engine.reasoning`
(``code.ingest``, ``code.locate``, ``domain``, ``prove``, ``audit``) are the hook points where per-key
monthly metering attaches (``_metered`` below is that one place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel

from ... import limits as L
from ...sourcetree import MAX_FILE_BYTES
from .. import budgets
from .. import validation as v
from ..auth import READ, WRITE, Caller, authenticate, require
from ..core import body, ok, route, state

router = APIRouter(tags=["code and reasoning"])


@dataclass(frozen=True)
class StrList:
    """An array of at most ``max`` strings, each checked by ``item``."""

    item: v.Str
    max: int
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: v.Path, issues: list[v.Issue]) -> Any:
        if not isinstance(value, list):
            issues.append(v._type_issue("array", value, path))
            return value
        if len(value) > self.max:
            message = f"at most {self.max} items"
            issues.append({"code": "too_big", "maximum": self.max, "path": path, "message": message})
            return value
        return [self.item.check(element, [*path, i], issues) for i, element in enumerate(value)]

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema(), "maxItems": self.max}


AUTH_ERRORS = (400, 401, 403, 429)
#: Values whose keys are the user's own names (attributes, a domain document), never re-cased.
_VERBATIM = {"counterexample", "domain", "skipped", "languages"}

PATH = v.Str(L.CODE_PATH.min, L.CODE_PATH.max, kind="name")
FILE = v.Schema({"path": PATH, "text": v.Str(0, MAX_FILE_BYTES)}, name="SourceFile")
INGEST = v.Schema(
    {
        "scope": v.SCOPE,
        "files": v.Items(FILE, L.CODE_FILES.min, L.CODE_FILES.max),
        "prune": v.Bool(optional=True, description="Forget files of the scope that are not sent (default true)."),
        # Not a FieldSpec of validation.py's union, but the same check / json_schema interface.
        "present": cast(
            v.FieldSpec, StrList(PATH, 200_000, optional=True, description="More paths present when pruning.")
        ),
    },
    name="CodeIngest",
)
LOCATE = v.Schema(
    {"scope": v.SCOPE, "query": v._length(L.QUERY, kind="text"), "topK": v._integer(L.TOP_K, optional=True)},
    name="CodeLocate",
)
DOMAIN_SET = v.Schema({"scope": v.SCOPE, "domain": v.AnyObject()}, name="DomainSet")
DOMAIN_GET = v.Schema({"scope": v.SCOPE}, name="DomainGet")
PROVE = v.Schema(
    {"scope": v.SCOPE, "statement": v.AnyObject(), "timeoutMs": v._integer(L.PROOF_MS, optional=True)}, name="Prove"
)
AUDIT = v.Schema({"scope": v.SCOPE, "timeoutMs": v._integer(L.PROOF_MS, optional=True)}, name="Audit")


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(k): (item if k in _VERBATIM else _camel(item)) for k, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _metered(request: Request, caller: Caller, operation: str) -> None:
    """One use of ``operation`` by the caller's key: its plan's gate and monthly budget (server/budgets.py)."""
    budgets.charge(state(request), caller, operation)


@route(router, "POST", "/v1/code/ingest", summary="Index source files into a scope (incremental)", schema=INGEST,
       errors=(*AUTH_ERRORS, 413))  # fmt: skip
def code_ingest(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(INGEST)
) -> JSONResponse:
    require(caller, WRITE)
    _metered(request, caller, "code.ingest")
    engine = state(request).engine_for(caller.account.id)
    summary = engine.code_ingest(
        data["scope"], files=data["files"], prune=data.get("prune", True), present=data.get("present")
    )
    return ok(request, {"summary": _camel(summary.to_dict())})


@route(router, "POST", "/v1/code/locate", summary="Where a question is answered in a scope's code", schema=LOCATE,
       errors=AUTH_ERRORS)  # fmt: skip
def code_locate(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(LOCATE)
) -> JSONResponse:
    require(caller, READ)
    _metered(request, caller, "code.locate")
    engine = state(request).engine_for(caller.account.id)
    found = engine.code_locate(data["scope"], data["query"], top_k=data.get("topK", L.DEFAULT_TOP_K))
    return ok(request, {"locations": _camel([loc.to_dict() for loc in found])})


@route(router, "POST", "/v1/domain", summary="Declare a scope's typed vocabulary and rules", schema=DOMAIN_SET,
       errors=(*AUTH_ERRORS, 409))  # fmt: skip
def domain_set(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(DOMAIN_SET)
) -> JSONResponse:
    require(caller, WRITE)
    _metered(request, caller, "domain")
    parsed = state(request).engine_for(caller.account.id).set_domain(data["scope"], data["domain"])
    return ok(request, {"domain": parsed.to_dict()})


@route(router, "POST", "/v1/domain/get", summary="A scope's domain", schema=DOMAIN_GET, errors=(*AUTH_ERRORS, 404))
def domain_get(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(DOMAIN_GET)
) -> JSONResponse:
    require(caller, READ)
    return ok(request, {"domain": state(request).engine_for(caller.account.id).domain(data["scope"]).to_dict()})


@route(router, "POST", "/v1/prove", summary="Prove or refute a statement with Z3", schema=PROVE,
       errors=(*AUTH_ERRORS, 404, 409))  # fmt: skip
def prove(request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(PROVE)) -> JSONResponse:
    require(caller, READ)
    _metered(request, caller, "prove")
    engine = state(request).engine_for(caller.account.id)
    result = engine.prove(data["scope"], data["statement"], timeout_ms=data.get("timeoutMs", L.DEFAULT_PROOF_MS))
    return ok(request, {"proof": _camel(result.to_dict())})


@route(router, "POST", "/v1/audit", summary="Contradictions among a scope's facts and rules", schema=AUDIT,
       errors=(*AUTH_ERRORS, 404))  # fmt: skip
def audit(request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(AUDIT)) -> JSONResponse:
    require(caller, READ)
    _metered(request, caller, "audit")
    result = (
        state(request)
        .engine_for(caller.account.id)
        .audit(data["scope"], timeout_ms=data.get("timeoutMs", L.DEFAULT_PROOF_MS))
    )
    return ok(request, {"audit": _camel(result.to_dict())})
