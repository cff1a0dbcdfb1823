"""Zero-auth caches and their claim into a read-only container (spec §9)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...engine.types import iso_ms
from ...errors import AlreadyClaimed, CacheEntryLimit, CacheExpired, NotFound, RateLimited
from ...store.accounts import Cache, CacheEntry
from .. import validation as v
from ..auth import ADMIN, READ, Caller, authenticate, authenticate_cache, mint_key, new_token, require, sha256
from ..core import ServerState, body, ok, route, state
from .containers import create_container, delete_container
from .memories import check_quota

router = APIRouter(tags=["cache"])
CLAIMED_MESSAGE = (
    "Cache has already been claimed. The container key was returned in the original claim response and "
    "cannot be re-issued. If you need a new key, use POST /v1/containers/{containerId}/keys "
    "(requires Pro plan or above)."
)


def client_ip(request: Request) -> str:
    """The client address: the operator-trusted proxy header if configured, else the socket peer."""
    header = state(request).server.trusted_ip_header.lower()
    if header:
        value = request.headers.get(header, "")
        if header == "x-forwarded-for":
            value = value.split(",")[0]
        if value.strip():
            return value.strip()
    return request.client.host if request.client else "unknown"


def public_base(request: Request) -> str:
    configured = state(request).server.public_url
    return (configured or str(request.base_url)).rstrip("/")


@route(router, "POST", "/v1/cache", summary="Create a temporary cache (no auth)", schema=v.CACHE_CREATE,
       status=201, errors=(400, 429))
def create_cache(request: Request, data: dict[str, Any] = body(v.CACHE_CREATE)) -> JSONResponse:
    srv = state(request)
    ip = client_ip(request)
    now = srv.now()
    window = srv.server.cache_creation_window_s * 1000
    recent = srv.store.caches_created_since(ip, now - window)
    limit = srv.server.cache_creations_per_ip
    if len(recent) >= limit:
        hours = srv.server.cache_creation_window_s // 3600
        raise RateLimited(
            f"Cache creation rate limit exceeded ({limit} per {hours} hours)",
            retry_after=-(-(recent[-limit] + window - now) // 1000),
        )
    raw, claim = new_token("wm_tmp_"), new_token("wm_claim_")
    cache = srv.store.create_cache(
        cache_id=str(uuid.uuid4()),
        token_hash=sha256(raw),
        claim_token_hash=sha256(claim),
        ip_address=ip,
        ttl_seconds=data.get("ttlSeconds", 86_400),
        now=now,
    )
    payload = {
        "id": cache.id,
        "rawToken": raw,
        "claimToken": claim,
        "claimUrl": f"{public_base(request)}/claim/{claim}",
        "expiresAt": iso_ms(cache.expires_at),
    }
    return ok(request, {"cache": payload}, status=201)


def claimable(srv: ServerState, claim_token: str) -> Cache:
    """The cache behind a claim token, checked in the spec's order: 404, 409, 410."""
    cache = srv.store.cache_by_claim_token(sha256(claim_token))
    if cache is None:
        raise NotFound("Cache not found")
    if cache.claimed_at is not None:
        raise AlreadyClaimed(CLAIMED_MESSAGE)
    if cache.expires_at < srv.now():
        raise CacheExpired("Cache has expired")
    return cache


def preview_json(srv: ServerState, cache: Cache) -> dict[str, Any]:
    entries = srv.store.list_entries(cache.id)
    return {
        "id": cache.id,
        "entryCount": len(entries),
        "expiresAt": iso_ms(cache.expires_at),
        "entries": [{"key": e.key} for e in entries],
    }


@route(router, "POST", "/v1/cache/preview", summary="What a claim token would claim (no auth)",
       schema=v.CLAIM_TOKEN, errors=(400, 404, 409, 410))
def preview(request: Request, data: dict[str, Any] = body(v.CLAIM_TOKEN)) -> JSONResponse:
    srv = state(request)
    return ok(request, {"cache": preview_json(srv, claimable(srv, data["claimToken"]))})


@route(router, "GET", "/claim/{claim_token}", summary="The claimUrl: how to claim this cache", errors=(404, 409, 410),
       tags=["cache"])
def claim_page(request: Request, claim_token: str) -> JSONResponse:
    srv = state(request)
    cache = preview_json(srv, claimable(srv, claim_token))
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


@route(router, "POST", "/v1/cache/set", summary="Upsert a cache entry (cache token)", schema=v.CACHE_SET,
       errors=(400, 401, 403))
def cache_set(request: Request, cache: Cache = Depends(authenticate_cache),
              data: dict[str, Any] = body(v.CACHE_SET)) -> JSONResponse:
    srv = state(request)
    limit = srv.server.cache_max_entries
    entry = srv.store.set_entry(cache.id, data["key"], data["value"], now=srv.now(), max_entries=limit)
    if entry is None:
        raise CacheEntryLimit(f"Cache entry limit reached ({limit} max)")
    return ok(request, {"entry": entry_json(entry)})


@route(router, "POST", "/v1/cache/get", summary="Read a cache entry (cache token)", schema=v.CACHE_KEY,
       errors=(400, 401))
def cache_get(request: Request, cache: Cache = Depends(authenticate_cache),
              data: dict[str, Any] = body(v.CACHE_KEY)) -> JSONResponse:
    entry = state(request).store.get_entry(cache.id, data["key"])
    return ok(request, {"entry": entry_json(entry) if entry else None})


@route(router, "POST", "/v1/cache/delete", summary="Delete a cache entry (cache token)", schema=v.CACHE_KEY,
       errors=(400, 401))
def cache_delete(request: Request, cache: Cache = Depends(authenticate_cache),
                 data: dict[str, Any] = body(v.CACHE_KEY)) -> JSONResponse:
    deleted = state(request).store.delete_entry(cache.id, data["key"])
    return ok(request, {"result": {"deleted": deleted}})


@route(router, "GET", "/v1/cache/list", summary="Cache keys, sorted (cache token)", errors=(401,))
def cache_list(request: Request, cache: Cache = Depends(authenticate_cache)) -> JSONResponse:
    entries = state(request).store.list_entries(cache.id)
    return ok(request, {"entries": [entry_json(e, with_value=False) for e in entries]})


@route(router, "POST", "/v1/cache/claim", summary="Claim a cache into a new read-only container",
       schema=v.CLAIM_TOKEN, errors=(400, 401, 403, 404, 409, 410, 429))
def claim(request: Request, caller: Caller = Depends(authenticate),
          data: dict[str, Any] = body(v.CLAIM_TOKEN)) -> JSONResponse:
    require(caller, ADMIN)
    srv = state(request)
    cache = claimable(srv, data["claimToken"])
    entries = srv.store.list_entries(cache.id)
    check_quota(srv, caller, len(entries))
    parent = caller.root
    now = srv.now()
    # Marking the cache first is the lock: a concurrent claim loses here and gets 409.
    if not srv.store.mark_claimed(cache.id, parent.id, now=now):
        raise AlreadyClaimed(CLAIMED_MESSAGE)
    short = cache.id[:8]
    scope = f"cache-{cache.id}"
    container = None
    try:
        container = create_container(srv, parent, f"Claimed cache {short}")
        engine = srv.engine_for(container.id)
        for entry in entries:
            engine.add(scope, entry.value, key=entry.key, importance=0.5)
        _, raw = mint_key(
            srv.store, container.id, scopes=READ, now=now, name=f"cache-claim/{short}",
            issued_to=f"cache-claim/{short}", parent_key_id=caller.key.id,
        )
    except BaseException:
        # Undo so the cache can be claimed again and nothing half-made is left behind.
        if container is not None:
            delete_container(srv, container)
        srv.store.release_claim(cache.id)
        raise
    result = {
        "claimed": True,
        "containerId": container.id,
        "memoriesCreated": len(entries),
        "scope": scope,
        "containerKey": raw,
    }
    return ok(request, {"result": result})
