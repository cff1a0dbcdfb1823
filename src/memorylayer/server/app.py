"""The ASGI app: the WithMemory v1 wire protocol on the MemoryLayer engine.

Every response carries ``X-Request-Id``; every error, including malformed JSON, unknown routes
and unexpected failures, is the JSON envelope ``{"error": {code, message, details?, request_id}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings
from ..errors import MemoryLayerError, NotFound, RateLimited
from ..registry.routes import document as document_registry
from ..registry.routes import mount_registry
from ..sync.routes import document as document_sync
from ..sync.routes import mount_sync
from ..types import iso_ms, now_ms
from .auth import authenticate
from .core import UUID_PATTERN, Json, ServerState, request_id, route, state, wants_html
from .dashboard import mount_dashboard, not_found_page
from .mcp import mount_mcp
from .middleware import RequestContext
from .routes import account, cache, consolidate, containers, links, memories, reasoning, signin, verify
from .routes.account import server_version
from .secret import load_secret
from .settings import ServerSettings

if TYPE_CHECKING:
    from ..engine import Engine


def error_response(request_id_: str, error: MemoryLayerError) -> JSONResponse:
    payload = {"error": {**error.to_dict(), "request_id": request_id_}}
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return Json(payload, status_code=error.status, headers=headers)


def create_app(
    settings: Settings | None = None,
    *,
    server: ServerSettings | None = None,
    engine: Engine | None = None,
    clock: Callable[[], int] | None = None,
) -> FastAPI:
    """The server app on ``engine`` (opened from ``settings`` when not given).

    Raises:
        InvalidRequest: the settings or ``server.toml`` are invalid.
        StorageError: the database or the server secret cannot be opened.
    """
    from ..engine import Engine

    settings = settings or Settings.load()
    server = server or ServerSettings.load(settings.home)
    engine = engine or Engine.open(settings=settings)
    secret = load_secret(server.server_secret, settings.home)
    srv = ServerState(engine, engine.backend.accounts, settings, server, secret, clock or now_ms)

    app = FastAPI(
        title="MemoryLayer server",
        version=server_version(),
        description="The WithMemory v1 wire protocol on the MemoryLayer engine. See docs/server.md.",
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    app.state.server = srv
    app.add_middleware(RequestContext)

    @app.exception_handler(MemoryLayerError)
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MemoryLayerError)
        return error_response(request_id(request), exc)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: Exception) -> Response:
        # Unknown paths and wrong methods both count as unknown routes (spec §1).
        path = request.url.path
        if wants_html(request) and not path.startswith(("/v1/", "/mcp")):
            return not_found_page(request)
        needs_key = path.startswith("/v1/") and not path.startswith(("/v1/cache", "/v1/auth"))
        if needs_key:
            try:
                await run_in_threadpool(authenticate, request)
            except MemoryLayerError as error:
                return error_response(request_id(request), error)
        return error_response(request_id(request), NotFound("Route not found"))

    for module in (memories, account, containers, cache, signin, reasoning, verify, consolidate, links):
        app.include_router(module.router)
    mount_registry(app, srv)  # /registry/v1: packages on the same accounts and keys
    mount_sync(app, srv)  # /registry/v1/sync: encrypted namespace blobs, per account
    _meta_routes(app)
    mount_dashboard(app)  # the web pages: /memories, /playground, /keys, ..., /claim/{token}, /docs
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    mount_mcp(app)  # /mcp: the MCP tools over streamable HTTP, same keys
    return app


def _meta_routes(app: FastAPI) -> None:
    from fastapi import APIRouter

    router = APIRouter(tags=["meta"])

    @route(router, "GET", "/", summary="Service banner (a browser is sent to the dashboard)", errors=())
    def root(request: Request) -> Response:
        if wants_html(request):
            return RedirectResponse("/memories", status_code=303)
        return JSONResponse(
            {
                "name": "memorylayer",
                "version": server_version(),
                "status": "ok",
                "message": "Persistent memory for AI agents.",
            }
        )

    @route(router, "GET", "/health", summary="Liveness (no auth)", errors=())
    def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "timestamp": iso_ms(state(request).now())})

    @route(router, "GET", "/health/db", summary="Database check (no auth)", errors=(503,))
    def health_db(request: Request) -> JSONResponse:
        srv = state(request)
        try:
            srv.engine.backend.check()
        except Exception as exc:  # any database failure is reported, not raised
            return JSONResponse({"status": "error", "database": "disconnected", "message": str(exc)}, status_code=503)
        now = iso_ms(srv.now())
        return JSONResponse({"status": "ok", "database": "connected", "server_time": now, "timestamp": now})

    app.include_router(router)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"].endswith("_id"):
                    # Ids are UUIDs; any other text answers 404 (400 for memories, spec §5.4).
                    parameter["schema"]["pattern"] = UUID_PATTERN
    document_registry(schema)
    document_sync(schema)
    schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    schema.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "wm_live_… API key or wm_tmp_… cache token"}
    }
    app.openapi_schema = json.loads(json.dumps(schema))
    return app.openapi_schema
