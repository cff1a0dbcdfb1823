"""Sign-in by emailed code (spec §11, limits §10.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .. import accounts
from .. import validation as v
from ..core import body, client_ip, ok, route, state

router = APIRouter(tags=["auth"])


@route(
    router,
    "POST",
    "/v1/auth/request-code",
    summary="Email a 6-digit sign-in code",
    schema=v.REQUEST_CODE,
    errors=(400, 429),
)
def request_code(request: Request, data: dict[str, Any] = body(v.REQUEST_CODE)) -> JSONResponse:
    accounts.request_code(state(request), data["email"].lower(), client_ip(request))
    return ok(request, {"result": {"sent": True}})


@route(
    router,
    "POST",
    "/v1/auth/verify-code",
    summary="Exchange a sign-in code for a full-scope API key",
    schema=v.VERIFY_CODE,
    errors=(400, 401, 429),
)
def verify_code(request: Request, data: dict[str, Any] = body(v.VERIFY_CODE)) -> JSONResponse:
    signed_in = accounts.verify_code(
        state(request), data["email"].lower(), data["code"], data.get("issuedTo", "Agent-created key")
    )
    result = {"apiKey": signed_in.api_key, "accountId": signed_in.account.id, "isNewAccount": signed_in.is_new_account}
    return ok(request, {"result": result})
