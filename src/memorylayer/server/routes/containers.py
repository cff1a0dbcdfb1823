"""Containers and their keys (spec §10.1). Malformed path ids answer 404, never 500."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...errors import InvalidRequest, NotFound
from ...store.accounts import Account, ApiKey
from ...types import iso_ms
from .. import accounts
from .. import validation as v
from ..auth import (
    ADMIN,
    CONTAINER_DEFAULT_SCOPES,
    Caller,
    authenticate,
    mint_key,
    require,
    require_plan,
    require_top_level,
)
from ..core import UUID_RE, ServerState, body, ok, route, state

router = APIRouter(tags=["containers"])
ERRORS = (401, 403, 404, 429)


def guard(request: Request, caller: Caller, *, plan: bool = True) -> ServerState:
    require_top_level(caller)
    require(caller, ADMIN)
    srv = state(request)
    if plan:
        require_plan(srv, caller.account, "containers")
    return srv


def own_container(srv: ServerState, caller: Caller, container_id: str) -> Account:
    """The caller's child container, or NotFound (also for ids that are not UUIDs)."""
    if UUID_RE.fullmatch(container_id):
        container = srv.store.get_account(container_id.lower())
        if container is not None and container.parent_account_id == caller.account.id:
            return container
    raise NotFound("Container not found")


def container_json(container: Account, **extra: Any) -> dict[str, Any]:
    return {
        "id": container.id,
        "parentAccountId": container.parent_account_id,
        "name": container.name,
        "metadata": container.metadata,
        **extra,
        "createdAt": iso_ms(container.created_at),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "accountId": key.account_id,
        "keyPrefix": key.key_prefix,
        "scopes": key.scopes,
        "issuedTo": key.issued_to,
        "expiresAt": iso_ms(key.expires_at),
        "createdAt": iso_ms(key.created_at),
    }


@route(
    router,
    "POST",
    "/v1/containers",
    summary="Create a container (plan gated)",
    schema=v.CONTAINER_CREATE,
    status=201,
    errors=(400, *ERRORS, 409),
)
def create(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.CONTAINER_CREATE)
) -> JSONResponse:
    guard(request, caller)
    container = accounts.create_container(state(request), caller.account, data["name"], data.get("metadata"))
    payload = container_json(container, planTier=container.plan_tier, memoryLimit=container.memory_limit)
    return ok(request, {"container": payload}, status=201)


@route(router, "GET", "/v1/containers", summary="List the caller's containers", errors=ERRORS)
def list_containers(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    srv = guard(request, caller)
    items = [
        container_json(c, memoryCount=srv.engine_for(c.id).count()) for c in srv.store.containers(caller.account.id)
    ]
    return ok(request, {"containers": items, "total": len(items)})


@route(router, "GET", "/v1/containers/{container_id}", summary="One container", errors=ERRORS)
def get_container(request: Request, container_id: str, caller: Caller = Depends(authenticate)) -> JSONResponse:
    srv = guard(request, caller)
    container = own_container(srv, caller, container_id)
    payload = container_json(
        container,
        memoryCount=srv.engine_for(container.id).count(),
        activeKeyCount=srv.store.count_active_keys(container.id),
    )
    return ok(request, {"container": payload})


@route(
    router,
    "POST",
    "/v1/containers/{container_id}/keys",
    summary="Mint a container key",
    schema=v.CONTAINER_KEY,
    status=201,
    errors=(400, *ERRORS),
)
def create_key(
    request: Request,
    container_id: str,
    caller: Caller = Depends(authenticate),
    data: dict[str, Any] = body(v.CONTAINER_KEY),
) -> JSONResponse:
    srv = guard(request, caller)
    scopes = data.get("scopes", CONTAINER_DEFAULT_SCOPES)
    if ADMIN in scopes:
        raise InvalidRequest("Container keys cannot have account:admin scope")
    container = own_container(srv, caller, container_id)
    now = srv.now()
    expires_at = now + data["expiresIn"] * 1000 if "expiresIn" in data else None
    key, raw = mint_key(
        srv.store,
        container.id,
        scopes=scopes,
        now=now,
        issued_to=data["issuedTo"],
        expires_at=expires_at,
        parent_key_id=caller.key.id,
    )
    return ok(request, {"key": key_json(key), "rawKey": raw}, status=201)


@route(router, "DELETE", "/v1/containers/{container_id}/keys/{key_id}", summary="Revoke a container key", errors=ERRORS)
def revoke_key(
    request: Request, container_id: str, key_id: str, caller: Caller = Depends(authenticate)
) -> JSONResponse:
    srv = guard(request, caller, plan=False)
    not_found = NotFound("Key not found")
    try:
        container = own_container(srv, caller, container_id)
    except NotFound:
        raise not_found from None
    key = srv.store.get_key(key_id.lower()) if UUID_RE.fullmatch(key_id) else None
    if key is None or key.account_id != container.id or key.revoked_at is not None:
        raise not_found
    now = srv.now()
    if not srv.store.revoke_key(key.id, now=now):
        raise not_found
    return ok(request, {"result": {"revoked": True, "revokedAt": iso_ms(now)}})


@route(
    router,
    "DELETE",
    "/v1/containers/{container_id}",
    summary="Delete a container and all its memories",
    schema=v.CONTAINER_DELETE,
    errors=(400, *ERRORS),
)
def delete(
    request: Request,
    container_id: str,
    caller: Caller = Depends(authenticate),
    data: dict[str, Any] = body(v.CONTAINER_DELETE),
) -> JSONResponse:
    srv = guard(request, caller, plan=False)
    accounts.delete_container(srv, own_container(srv, caller, container_id))
    return ok(request, {"result": {"deleted": True}})
