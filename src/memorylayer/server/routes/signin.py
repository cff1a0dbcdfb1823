"""Sign-in by emailed code (spec §11, limits §10.4)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...engine.types import iso_ms
from ...errors import InvalidCode, RateLimited
from .. import validation as v
from ..auth import FULL_SCOPES, mint_key, sha256
from ..core import body, ok, route, state
from ..mail import send_code
from .cache import client_ip

router = APIRouter(tags=["auth"])
HOUR_MS = 3_600_000
INVALID = "Invalid or expired verification code"


def _retry(oldest: int, window: int, now: int) -> int:
    return max(1, -(-(oldest + window - now) // 1000))


@route(router, "POST", "/v1/auth/request-code", summary="Email a 6-digit sign-in code", schema=v.REQUEST_CODE,
       errors=(400, 429))
def request_code(request: Request, data: dict[str, Any] = body(v.REQUEST_CODE)) -> JSONResponse:
    srv = state(request)
    conf = srv.server
    email = data["email"].lower()
    ip = client_ip(request)
    now = srv.now()
    if ip != "unknown":
        by_ip = srv.store.codes_since(since=now - HOUR_MS, ip_address=ip)
        if len(by_ip) >= conf.codes_per_ip_per_hour:
            raise RateLimited(
                "Too many code requests from this network. Try again later.",
                retry_after=_retry(by_ip[-conf.codes_per_ip_per_hour], HOUR_MS, now),
            )
    by_email = srv.store.codes_since(since=now - HOUR_MS, email=email)
    if len(by_email) >= conf.codes_per_email_per_hour:
        raise RateLimited(
            "Too many code requests. Try again in an hour.",
            retry_after=_retry(by_email[-conf.codes_per_email_per_hour], HOUR_MS, now),
        )
    code = str(100_000 + secrets.randbelow(900_000))
    srv.store.add_code(
        email=email, code_hash=sha256(code), ip_address=ip, now=now, expires_at=now + conf.code_ttl_s * 1000
    )
    send_code(conf, email, code)
    return ok(request, {"result": {"sent": True}})


@route(router, "POST", "/v1/auth/verify-code", summary="Exchange a sign-in code for a full-scope API key",
       schema=v.VERIFY_CODE, errors=(400, 401, 429))
def verify_code(request: Request, data: dict[str, Any] = body(v.VERIFY_CODE)) -> JSONResponse:
    srv = state(request)
    conf = srv.server
    email = data["email"].lower()
    now = srv.now()
    code = srv.store.latest_code(email, now=now)
    if code is None:
        raise InvalidCode(INVALID)
    if code.locked_until is not None and code.locked_until > now:
        raise RateLimited(
            "Too many attempts. Try again later.",
            retry_after=max(1, -(-(code.locked_until - now) // 1000)),
            details={"locked_until": iso_ms(code.locked_until)},
        )
    if not hmac.compare_digest(sha256(data["code"]), code.code_hash):
        srv.store.fail_code(code.id, max_attempts=conf.code_max_attempts, lock_until=now + conf.code_lock_s * 1000)
        raise InvalidCode(INVALID)
    if not srv.store.use_code(code.id, now=now):
        raise InvalidCode(INVALID)
    account = srv.store.account_by_email(email)
    is_new = account is None
    if account is None:
        plan = conf.plans[conf.default_plan]
        account = srv.store.create_account(
            email,
            plan_tier=plan.name,
            memory_limit=plan.memory_limit,
            monthly_api_call_limit=plan.monthly_api_calls,
            now=now,
        )
    label = data.get("issuedTo", "Agent-created key")
    _, raw = mint_key(srv.store, account.id, scopes=FULL_SCOPES, now=now, name=label, issued_to=label)
    return ok(request, {"result": {"apiKey": raw, "accountId": account.id, "isNewAccount": is_new}})
