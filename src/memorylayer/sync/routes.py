"""``/registry/v1/sync``: the server side of ``memorylayer sync``, opaque blobs per (account, namespace).

The server stores what the client sends and never decrypts it: it checks the caller, the plan's size
limit (``sync_bytes``, checked while the body streams in) and the format's magic bytes, keeps the
bytes in the backend's tarball store, and only then points the namespace at them, in one statement,
so a failed or refused upload leaves the previous blob in place. Only the account that pushed a blob
reads or replaces it.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import limits
from ..engine import validation as v
from ..errors import InvalidRequest, NotFound, PayloadTooLarge
from ..server.auth import READ, WRITE, Caller, authenticate, require
from ..server.core import ServerState, ok, route
from ..server.validation import NAME_PATTERN
from ..store.registry import RegistryStore, SyncBlob
from ..store.tarballs import TarballStore
from .blob import MAGIC

router = APIRouter(tags=["sync"])
PREFIX = "/registry/v1/sync"
ERRORS = (400, 401, 403, 404, 429)


def mount_sync(app: FastAPI, srv: ServerState) -> None:
    app.state.sync_server = srv
    app.include_router(router)


def _parts(request: Request) -> tuple[ServerState, RegistryStore, TarballStore]:
    srv: ServerState = request.app.state.sync_server
    return srv, srv.engine.backend.registry, srv.engine.backend.tarballs(srv.settings.home)


def _caller(request: Request, scope: str) -> Caller:
    caller = authenticate(request)
    require(caller, scope)
    return caller


def blob_json(blob: SyncBlob) -> dict[str, Any]:
    return {"namespace": blob.namespace, "memories": blob.memory_count, "size": blob.size, "pushedAt": blob.pushed_at}


@route(router, "GET", PREFIX, summary="Every synced namespace of the caller's account", errors=ERRORS)
def status(request: Request) -> JSONResponse:
    caller = _caller(request, READ)
    _, store, _ = _parts(request)
    return ok(request, {"namespaces": [blob_json(b) for b in store.sync_blobs(caller.account.id)]})


@route(
    router,
    "PUT",
    PREFIX + "/blob",
    summary="Replace a namespace's encrypted blob (the body), atomically",
    errors=(*ERRORS, 413),
)
async def push(request: Request, namespace: str = "", memories: str = "") -> JSONResponse:
    caller = await run_in_threadpool(_caller, request, WRITE)
    scope = v.scope(namespace, "namespace")
    if not memories.isdigit() or int(memories) > 1_000_000_000:
        raise InvalidRequest("memories: expected the number of memories in the blob (0 or more)")
    srv, store, tarballs = _parts(request)
    limit = min(srv.server.plan(caller.root.plan_tier).sync_bytes, limits.SYNC_BLOB_MAX_BYTES)
    upload = tarballs.scratch() / f"sync-{uuid.uuid4()}.part"
    hasher, size, head = hashlib.sha512(), 0, b""
    try:
        with upload.open("wb") as out:
            async for chunk in request.stream():  # streamed to disk: memory stays flat
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"sync blobs are at most {limit:,} bytes on the {caller.root.plan_tier} plan; "
                        "the previous blob is unchanged"
                    )
                if len(head) < len(MAGIC):
                    head += chunk[: len(MAGIC) - len(head)]
                hasher.update(chunk)
                out.write(chunk)
        if head != MAGIC:
            raise InvalidRequest("the body is not a MemoryLayer sync blob (format 1); the previous blob is unchanged")
        blob = SyncBlob(caller.account.id, scope, hasher.hexdigest(), size, int(memories), srv.now())
        await run_in_threadpool(_replace, store, tarballs, blob, upload)
    finally:
        upload.unlink(missing_ok=True)
    return ok(request, {"blob": blob_json(blob)})


def _replace(store: RegistryStore, tarballs: TarballStore, blob: SyncBlob, upload: Path) -> None:
    tarballs.put(blob.digest, upload)
    replaced = store.put_sync_blob(blob)
    if replaced is not None and not store.sync_digest_used(replaced):
        tarballs.discard(replaced)


@route(router, "GET", PREFIX + "/blob", summary="Download a namespace's encrypted blob", errors=ERRORS)
def pull(request: Request, namespace: str = "") -> FileResponse:
    caller = _caller(request, READ)
    scope = v.scope(namespace, "namespace")
    _, store, tarballs = _parts(request)
    blob = store.sync_blob(caller.account.id, scope)
    if blob is None:
        raise NotFound(f"namespace {scope!r} was never pushed with this account")
    headers = {"X-Sync-Memories": str(blob.memory_count), "X-Sync-Pushed-At": str(blob.pushed_at)}
    return FileResponse(tarballs.path(blob.digest), media_type="application/octet-stream", headers=headers)


#: Query parameters as the routes check them, and the blob body, for the OpenAPI schema.
_PARAMETERS: dict[str, dict[str, Any]] = {
    "namespace": {"type": "string", "pattern": NAME_PATTERN, "minLength": 1, "maxLength": limits.SCOPE.max},
    "memories": {"type": "string", "pattern": "^[0-9]{1,9}$"},
}


def document(schema: dict[str, Any]) -> None:
    """Publish the sync routes' required parameters and the blob body in the OpenAPI schema."""
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(PREFIX + "/blob"):
            continue
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in _PARAMETERS:
                    parameter["schema"] = dict(_PARAMETERS[parameter["name"]])
                    parameter["required"] = True
            if method == "put":
                operation["requestBody"] = {
                    "required": True,
                    "description": "The encrypted blob (docs/sync.md, format 1), as the client sealed it",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                }
