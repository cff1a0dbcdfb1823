"""Zero-auth caches and their claim into a read-only container (spec §9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...limits import DEFAULT_CACHE_TTL_S
from ...store.accounts import Cache, CacheEntry
from ...types import iso_ms
from .. import accounts, dashboard
from .. import validation as v
from ..auth import ADMIN, Caller, authenticate, authenticate_cache, require
from ..core import ServerState, body, client_ip, ok, public_base, route, state, wants_html

router = APIRouter(tags=["cache"])


@route(
    router,
    "POST",
    "/v1/cache",
    summary="Create a temporary cache (no auth)",
    schema=v.CACHE_CREATE,
    status=201,
    errors=(400, 429),
)
def create_cache(request: Request, data: dict[str, Any] = body(v.CACHE_CREATE)) -> JSONResponse:
    made = accounts.create_cache(state(request), client_ip(request), data.get("ttlSeconds", DEFAULT_CACHE_TTL_S))
    payload = {
        "id": made.cache.id,
        "rawToken": made.raw_token,
        "claimToken": made.claim_token,
        "claimUrl": f"{public_base(request)}/claim/{made.claim_token}",
        "expiresAt": iso_ms(made.cache.expires_at),
    }
    return ok(request, {"cache": payload}, status=201)


def preview_json(srv: ServerState, cache: Cache) -> dict[str, Any]:
    entries = srv.store.list_entries(cache.id)
    return {
        "id": cache.id,
        "entryCount": len(entries),
        "expiresAt": iso_ms(cache.expires_at),
        "entries": [{"key": e.key} for e in entries],
    }


@route(
    router,
    "POST",
    "/v1/cache/preview",
    summary="What a claim token would claim (no auth)",
    schema=v.CLAIM_TOKEN,
    errors=(400, 404, 409, 410),
)
def preview(request: Request, data: dict[str, Any] = body(v.CLAIM_TOKEN)) -> JSONResponse:
    srv = state(request)
    return ok(request, {"cache": preview_json(srv, accounts.claimable(srv, data["claimToken"]))})


@route(
    router,
    "GET",
    "/claim/{claim_token}",
    summary="The claimUrl: how to claim this cache (a browser gets the dashboard's claim page)",
    errors=(404, 409, 410),
    tags=["cache"],
)
def claim_page(request: Request, claim_token: str) -> Response:
    if wants_html(request):
        return dashboard.claim_page(request, claim_token)
    srv = state(request)
    cache = preview_json(srv, accounts.claimable(srv, claim_token))
    how = {
        "method": "POST",
        "url": f"{public_base(request)}/v1/cache/claim",
        "headers": {"Authorization": "Bearer <your API key with account:admin>"},
        "body": {"claimToken": claim_token},
    }
    return ok(request, {"cache": cache, "claim": how})


def entry_json(entry: CacheEntry, with_value: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"key": entry.key}
    if with_value:
        data["value"] = entry.value
    data["createdAt"] = iso_ms(entry.created_at)
    data["updatedAt"] = iso_ms(entry.updated_at)
    return data


@route(
    router,
    "POST",
    "/v1/cache/set",
    summary="Upsert a cache entry (cache token)",
    schema=v.CACHE_SET,
    errors=(400, 401, 403),
)
def cache_set(
    request: Request, cache: Cache = Depends(authenticate_cache), data: dict[str, Any] = body(v.CACHE_SET)
) -> JSONResponse:
    entry = accounts.set_cache_entry(state(request), cache, data["key"], data["value"])
    return ok(request, {"entry": entry_json(entry)})


@route(
    router, "POST", "/v1/cache/get", summary="Read a cache entry (cache token)", schema=v.CACHE_KEY, errors=(400, 401)
)
def cache_get(
    request: Request, cache: Cache = Depends(authenticate_cache), data: dict[str, Any] = body(v.CACHE_KEY)
) -> JSONResponse:
    entry = state(request).store.get_entry(cache.id, data["key"])
    return ok(request, {"entry": entry_json(entry) if entry else None})


@route(
    router,
    "POST",
    "/v1/cache/delete",
    summary="Delete a cache entry (cache token)",
    schema=v.CACHE_KEY,
    errors=(400, 401),
)
def cache_delete(
    request: Request, cache: Cache = Depends(authenticate_cache), data: dict[str, Any] = body(v.CACHE_KEY)
) -> JSONResponse:
    deleted = state(request).store.delete_entry(cache.id, data["key"])
    return ok(request, {"result": {"deleted": deleted}})


@route(router, "GET", "/v1/cache/list", summary="Cache keys, sorted (cache token)", errors=(401,))
def cache_list(request: Request, cache: Cache = Depends(authenticate_cache)) -> JSONResponse:
    entries = state(request).store.list_entries(cache.id)
    return ok(request, {"entries": [entry_json(e, with_value=False) for e in entries]})


@route(
    router,
    "POST",
    "/v1/cache/claim",
    summary="Claim a cache into a new read-only container",
    schema=v.CLAIM_TOKEN,
    errors=(400, 401, 403, 404, 409, 410, 429),
)
def claim(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.CLAIM_TOKEN)
) -> JSONResponse:
    require(caller, ADMIN)
    made = accounts.claim_cache(state(request), caller, data["claimToken"])
    result = {
        "claimed": True,
        "containerId": made.container.id,
        "memoriesCreated": made.memories_created,
        "scope": made.scope,
        "containerKey": made.container_key,
    }
    return ok(request, {"result": result})
