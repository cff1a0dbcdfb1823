"""``/registry/v1``: the package registry on ``memorylayer serve``, with the same keys as ``/v1``.

Reading a public package needs no key; everything else takes ``Authorization: Bearer <key>``. Errors
are the server's usual envelope with the registry's stable codes (docs/registry.md).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import limits
from ..errors import InvalidRequest, NotFound, PayloadTooLarge
from ..server.auth import READ, WRITE, Caller, authenticate, require
from ..server.core import ServerState, body, ok, route
from ..server.validation import Bool, Enum, Matching, Num, Schema, Str
from . import names
from .service import Registry, link_json, version_json

router = APIRouter(tags=["registry"])
PREFIX = "/registry/v1"
READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 429)


def mount_registry(app: FastAPI, srv: ServerState) -> None:
    """Serve the registry from ``srv``'s database, tarballs where its backend keeps them."""
    app.state.registry = Registry(
        store=srv.engine.backend.registry,
        accounts=srv.store,
        tarballs=srv.engine.backend.tarballs(srv.settings.home),
        engine=srv.engine,
        clock=srv.now,
    )
    app.include_router(router)


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _caller(request: Request, scope: str = READ) -> Caller:
    caller = authenticate(request)
    require(caller, scope)
    return caller


def _optional(request: Request) -> str | None:
    """The caller's account, or None for an anonymous read of public packages."""
    if request.headers.get("authorization") is None:
        return None
    return _caller(request).account.id


def _name(scope: str, name: str) -> str:
    full = f"{scope}/{name}"
    names.package_name(full)
    return full


YANK = Schema({"yanked": Bool(optional=True), "reason": Str(0, 500, optional=True)})
DEPRECATE = Schema({"message": Str(0, 500, optional=True, description="Empty lifts the deprecation.")})
TAG = Schema({"version": Matching(names.SEMVER, 256)})
SHARE = Schema(
    {
        "expiresHours": Num(1, limits.SHARE_MAX_HOURS, integer=True, optional=True),
        "maxUses": Num(1, 1_000_000, integer=True, optional=True),
    }
)
ORG = Schema({"slug": Matching(names.SLUG, 39), "displayName": Str(1, 100, kind="text")})
MEMBER = Schema({"role": Enum(names.ROLES, optional=True), "add": Bool(optional=True)})


@route(router, "GET", PREFIX + "/whoami", summary="The key's registry username and orgs", errors=READ_ERRORS)
def whoami(request: Request) -> JSONResponse:
    caller = _caller(request)
    return ok(request, {**_registry(request).whoami(caller.account.id), "keyPrefix": caller.key.key_prefix})


@route(router, "GET", PREFIX + "/search", summary="Search packages (text, keyword, author)", errors=READ_ERRORS)
def search(request: Request, q: str = "", keyword: str = "", author: str = "", limit: str = "20") -> JSONResponse:
    # Query values arrive as text and are checked here, so a bad one is our 400 envelope.
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise InvalidRequest("limit: expected 1-100")
    found = _registry(request).search(_optional(request), q or None, keyword or None, author or None, int(limit))
    return ok(request, {"packages": found})


@route(router, "GET", PREFIX + "/packages/{scope}/{name}", summary="Package details and versions", errors=READ_ERRORS)
def info(request: Request, scope: str, name: str, share: str = "") -> JSONResponse:
    return ok(request, {"package": _registry(request).info(_name(scope, name), _optional(request), share or None)})


@route(
    router,
    "PUT",
    PREFIX + "/packages/{scope}/{name}/versions/{version}",
    summary="Publish a version: the body is the gzipped tarball",
    errors=(*WRITE_ERRORS, 413),
    status=201,
)
async def publish(
    request: Request, scope: str, name: str, version: str, tag: str = "", access: str = ""
) -> JSONResponse:
    caller = await run_in_threadpool(_caller, request, WRITE)
    full = _name(scope, name)
    names.version(version)
    registry = _registry(request)
    upload = registry.tarballs.scratch() / f"{uuid.uuid4()}.tgz"
    hasher = names.new_hasher()
    size = 0
    try:
        with upload.open("wb") as out:
            async for chunk in request.stream():  # streamed to disk: memory stays flat
                size += len(chunk)
                if size > limits.TARBALL_MAX_BYTES:
                    raise PayloadTooLarge(f"package tarballs are at most {limits.TARBALL_MAX_BYTES:,} bytes")
                hasher.update(chunk)
                out.write(chunk)
        record = await run_in_threadpool(
            registry.publish,
            caller.account.id,
            full,
            version,
            upload,
            hasher.digest(),
            tag=tag or None,
            access=access or None,
        )
    finally:
        _unlink(upload)
    return ok(request, {"name": full, **version_json(record)}, 201)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@route(
    router,
    "GET",
    PREFIX + "/packages/{scope}/{name}/versions/{version}/tarball",
    summary="Download a version's tarball (X-Integrity carries its sha512)",
    errors=(*READ_ERRORS, 410),
)
def tarball(request: Request, scope: str, name: str, version: str, share: str = "") -> FileResponse:
    download = _registry(request).download(_name(scope, name), version, _optional(request), share or None)
    headers = {"X-Integrity": download.version.integrity}
    if download.claim:
        headers["X-Share-Claim"] = download.claim
    return FileResponse(download.path, media_type="application/gzip", headers=headers)


@route(router, "POST", PREFIX + "/share-claims/{claim}/release", summary="Hand back a share link use", errors=(404,))
def release(request: Request, claim: str) -> JSONResponse:
    if not _registry(request).release_claim(claim):
        raise NotFound("no such share claim (it was handed back already, or never taken)")
    return ok(request, {"released": True})


@route(
    router,
    "POST",
    PREFIX + "/packages/{scope}/{name}/versions/{version}/yank",
    summary="Yank (yanked: true, the default) or unyank a version",
    errors=WRITE_ERRORS,
    schema=YANK,
)
def yank(request: Request, scope: str, name: str, version: str, data: dict[str, Any] = body(YANK)) -> JSONResponse:
    caller = _caller(request, WRITE)
    yanked = data.get("yanked", True)
    record = _registry(request).yank(
        _name(scope, name), version, caller.account.id, yanked=yanked, reason=data.get("reason") or None
    )
    return ok(request, {"version": version_json(record)})


@route(
    router,
    "POST",
    PREFIX + "/packages/{scope}/{name}/versions/{version}/deprecate",
    summary="Deprecate a version (an empty message lifts it)",
    errors=WRITE_ERRORS,
    schema=DEPRECATE,
)
def deprecate(
    request: Request, scope: str, name: str, version: str, data: dict[str, Any] = body(DEPRECATE)
) -> JSONResponse:
    caller = _caller(request, WRITE)
    record = _registry(request).deprecate(_name(scope, name), version, caller.account.id, data.get("message"))
    return ok(request, {"version": version_json(record)})


@route(
    router,
    "PUT",
    PREFIX + "/packages/{scope}/{name}/dist-tags/{tag}",
    summary="Point a dist-tag at a version",
    errors=WRITE_ERRORS,
    schema=TAG,
)
def set_tag(request: Request, scope: str, name: str, tag: str, data: dict[str, Any] = body(TAG)) -> JSONResponse:
    caller = _caller(request, WRITE)
    tags = _registry(request).set_tag(_name(scope, name), tag, data["version"], caller.account.id)
    return ok(request, {"distTags": tags})


@route(
    router,
    "DELETE",
    PREFIX + "/packages/{scope}/{name}/dist-tags/{tag}",
    summary="Remove a dist-tag",
    errors=WRITE_ERRORS,
)
def remove_tag(request: Request, scope: str, name: str, tag: str) -> JSONResponse:
    caller = _caller(request, WRITE)
    return ok(request, {"distTags": _registry(request).remove_tag(_name(scope, name), tag, caller.account.id)})


@route(
    router,
    "GET",
    PREFIX + "/packages/{scope}/{name}/access",
    summary="Collaborators and live share links (publisher and org admins)",
    errors=READ_ERRORS,
)
def access(request: Request, scope: str, name: str) -> JSONResponse:
    caller = _caller(request, WRITE)
    return ok(request, _registry(request).access(_name(scope, name), caller.account.id))


@route(
    router,
    "POST",
    PREFIX + "/packages/{scope}/{name}/share-links",
    summary="Create a share link (default 7 days, optional use limit)",
    errors=WRITE_ERRORS,
    status=201,
    schema=SHARE,
)
def create_link(request: Request, scope: str, name: str, data: dict[str, Any] = body(SHARE)) -> JSONResponse:
    caller = _caller(request, WRITE)
    hours, uses = data.get("expiresHours"), data.get("maxUses")
    link, token = _registry(request).create_link(
        _name(scope, name),
        caller.account.id,
        hours=None if hours is None else int(hours),
        max_uses=None if uses is None else int(uses),
    )
    return ok(request, {"token": token, "link": link_json(link)}, 201)


@route(
    router,
    "PUT",
    PREFIX + "/packages/{scope}/{name}/collaborators/{username}",
    summary="Add a collaborator (reader role)",
    errors=WRITE_ERRORS,
)
def add_collaborator(request: Request, scope: str, name: str, username: str) -> JSONResponse:
    caller = _caller(request, WRITE)
    return ok(request, _registry(request).collaborator(_name(scope, name), caller.account.id, username, add=True))


@route(
    router,
    "DELETE",
    PREFIX + "/packages/{scope}/{name}/collaborators/{username}",
    summary="Remove a collaborator",
    errors=WRITE_ERRORS,
)
def remove_collaborator(request: Request, scope: str, name: str, username: str) -> JSONResponse:
    caller = _caller(request, WRITE)
    return ok(request, _registry(request).collaborator(_name(scope, name), caller.account.id, username, add=False))


@route(
    router,
    "POST",
    PREFIX + "/orgs",
    summary="Create an org (you become its admin)",
    errors=WRITE_ERRORS,
    status=201,
    schema=ORG,
)
def create_org(request: Request, data: dict[str, Any] = body(ORG)) -> JSONResponse:
    caller = _caller(request, WRITE)
    org = _registry(request).create_org(caller.account.id, data["slug"], data["displayName"])
    return ok(request, {"org": org}, 201)


@route(router, "GET", PREFIX + "/orgs/{slug}", summary="An org and its members", errors=READ_ERRORS)
def get_org(request: Request, slug: str) -> JSONResponse:
    caller = _caller(request)
    return ok(request, {"org": _registry(request).org(slug, caller.account.id)})


@route(
    router,
    "PUT",
    PREFIX + "/orgs/{slug}/members/{username}",
    summary="Add a member (add: true, the default) or set an existing member's role",
    errors=WRITE_ERRORS,
    schema=MEMBER,
)
def set_member(request: Request, slug: str, username: str, data: dict[str, Any] = body(MEMBER)) -> JSONResponse:
    caller = _caller(request, WRITE)
    role, add = data.get("role", "member"), data.get("add", True)
    return ok(request, {"org": _registry(request).set_member(slug, caller.account.id, username, role, new=add)})


@route(router, "DELETE", PREFIX + "/orgs/{slug}/members/{username}", summary="Remove a member", errors=WRITE_ERRORS)
def remove_member(request: Request, slug: str, username: str) -> JSONResponse:
    caller = _caller(request, WRITE)
    return ok(request, {"org": _registry(request).remove_member(slug, caller.account.id, username)})


#: Path and query parameters as the registry checks them, for the OpenAPI schema.
_PARAMETERS: dict[str, dict[str, Any]] = {
    "scope": {"type": "string", "pattern": f"^{names.SCOPE}$", "maxLength": 100},
    "name": {"type": "string", "pattern": f"^{names.PART}$", "maxLength": 100},
    "version": {"type": "string", "pattern": f"^{names.SEMVER}$", "maxLength": 256},
    "tag": {"type": "string", "pattern": f"^({names.TAG})?$"},
    "slug": {"type": "string", "pattern": f"^{names.SLUG}$"},
    "username": {"type": "string", "pattern": f"^{names.SLUG}$"},
    "claim": {"type": "string", "pattern": "^mlshare_[A-Za-z0-9_-]{32}$"},
    "share": {"type": "string", "pattern": "^(mlshare_[A-Za-z0-9_-]{43})?$"},
    "access": {"type": "string", "enum": ["", "public", "private"]},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
}


def document(schema: dict[str, Any]) -> None:
    """Publish the registry's parameter patterns and the tarball body in the OpenAPI schema."""
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(PREFIX):
            continue
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in _PARAMETERS:
                    parameter["schema"] = dict(_PARAMETERS[parameter["name"]])
            if method == "put" and path.endswith("/versions/{version}"):
                operation["requestBody"] = {
                    "required": True,
                    "description": "The package tarball (gzip): package/memory.json then package/memories.jsonl",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                }
