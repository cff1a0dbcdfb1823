"""Health, account, usage, billing and the extraction prompt (spec §3 rows 7-15, §7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...errors import NotConfigured
from ...store.accounts import Account
from ...types import iso_ms
from .. import validation as v
from ..auth import ADMIN, READ, Caller, authenticate, period_json, require, require_plan
from ..core import ServerState, body, ok, route, state

router = APIRouter(tags=["account"])
AUTH_ERRORS = (401, 403, 429)
NO_PAYMENTS = (
    "this self-hosted MemoryLayer server has no payment provider; "
    "ask the operator to change your plan (`memorylayer admin set-plan`)."
)


def server_version() -> str:
    from ..._version import __version__

    return __version__


@route(router, "GET", "/v1/health", summary="Authenticated health check", errors=AUTH_ERRORS)
def health(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    return ok(request, {"health": {"status": "ok", "version": server_version()}})


def account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "planTier": account.plan_tier,
        "planStatus": account.plan_status,
        "memoryLimit": account.memory_limit,
        "monthlyApiCallLimit": account.monthly_api_call_limit,
        "createdAt": iso_ms(account.created_at),
    }


@route(router, "GET", "/v1/account", summary="The key's account and the key itself (whoami)", errors=AUTH_ERRORS)
def whoami(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    key = caller.key
    return ok(
        request,
        {
            "account": account_json(caller.account),
            "key": {
                "id": key.id,
                "scopes": key.scopes,
                "name": key.name,
                "createdAt": iso_ms(key.created_at),
                "expiresAt": iso_ms(key.expires_at),
            },
        },
    )


def usage_json(srv: ServerState, request: Request, caller: Caller) -> dict[str, Any]:
    account = caller.account
    count, start = request.state.period
    plan = srv.server.plan(account.plan_tier)
    return {
        "memoryCount": srv.engine_for(account.id).count(),
        "memoryLimit": account.memory_limit,
        "containerCount": len(srv.store.containers(account.id)),
        # null = unlimited, as the SDK documents (upstream answers 0).
        "containerLimit": 0 if account.is_container else plan.containers,
        "monthlyApiCallLimit": caller.root.monthly_api_call_limit,
        **period_json(srv, start, count, srv.now()),
    }


@route(router, "GET", "/v1/account/usage", summary="Memory, container and API-call usage", errors=AUTH_ERRORS)
def usage(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    return ok(request, {"usage": usage_json(state(request), request, caller)})


@route(router, "GET", "/v1/account/billing", summary="Plan and usage (no payment provider)", errors=AUTH_ERRORS)
def billing(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    account = caller.account
    return ok(
        request,
        {
            "billing": {
                "planTier": account.plan_tier,
                "planStatus": account.plan_status,
                "currentPeriodEnd": iso_ms(account.current_period_end),
                "usage": usage_json(state(request), request, caller),
                "actions": {"checkout": "POST /v1/account/checkout", "portal": None},
            }
        },
    )


@route(
    router,
    "POST",
    "/v1/account/extraction-prompt",
    summary="Set a custom extraction prompt (plan gated)",
    schema=v.EXTRACTION_PROMPT,
    errors=(400, *AUTH_ERRORS),
)
def set_prompt(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.EXTRACTION_PROMPT)
) -> JSONResponse:
    require(caller, ADMIN)
    srv = state(request)
    require_plan(srv, caller.account, "custom_prompt")
    srv.store.set_extraction_prompt(caller.account.id, data["prompt"])
    return ok(request, {"extractionPrompt": {"prompt": data["prompt"], "source": "custom"}})


@route(
    router, "GET", "/v1/account/extraction-prompt", summary="The custom extraction prompt, if any", errors=AUTH_ERRORS
)
def get_prompt(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    prompt = caller.account.extraction_prompt
    return ok(request, {"extractionPrompt": {"prompt": prompt, "source": "custom" if prompt else "default"}})


@route(
    router,
    "DELETE",
    "/v1/account/extraction-prompt",
    summary="Back to the default extraction prompt",
    errors=AUTH_ERRORS,
)
def reset_prompt(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, ADMIN)
    state(request).store.set_extraction_prompt(caller.account.id, None)
    return ok(request, {"result": {"reset": True}})


@route(
    router,
    "POST",
    "/v1/account/checkout",
    summary="Not available self-hosted (501 not_configured)",
    schema=v.CHECKOUT,
    errors=(400, *AUTH_ERRORS, 501),
)
def checkout(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.CHECKOUT)
) -> JSONResponse:
    require(caller, ADMIN)
    raise NotConfigured("Checkout is not available: " + NO_PAYMENTS)


@route(
    router,
    "POST",
    "/v1/account/billing-portal",
    summary="Not available self-hosted (501 not_configured)",
    errors=(*AUTH_ERRORS, 501),
)
def billing_portal(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, ADMIN)
    raise NotConfigured("The billing portal is not available: " + NO_PAYMENTS)
