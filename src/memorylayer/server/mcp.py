"""The MCP tools over streamable HTTP at ``/mcp``, authenticated with the server's own API keys.

Every request carries ``Authorization: Bearer <api key>``, checked by :func:`.auth.authenticate`
(the same keys and metering as ``/v1``). Each tool call then needs the key's ``memory:read`` or
``memory:write`` scope, runs on the engine of the key's account (or container), so another account's
memories are invisible, and counts against the key's daily call limit: the ``mcp_daily_calls`` of
its root account's plan, per UTC day, counted in the database so it holds across processes.

The transport is stateless with JSON responses: any replica can answer any request, and nothing
about a client lives in a server process.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..errors import InsufficientScope, InternalError, MemoryLayerError, RateLimited, Unauthorized
from ..mcp_server import ToolSpec, build_server
from . import accounts, budgets
from .auth import Caller, authenticate
from .core import ServerState

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from ..engine import Engine

CALLER_SCOPE_KEY = "memorylayer.mcp_caller"
UPGRADE_HINT = (
    "To raise it, upgrade the account's plan (`memorylayer admin set-plan`) or, on a self-hosted server, "
    "raise `mcp_daily_calls` of its plan in server.toml."
)


@dataclass
class HttpAccess:
    """Per call: the caller's key, its scope, its daily limit, then its tenant's engine, held to its memory quota."""

    srv: ServerState

    def engine(self, ctx: Context, tool: ToolSpec) -> Engine:
        caller = caller_of(ctx)
        if tool.scope not in caller.scopes:
            raise InsufficientScope(
                f"API key lacks required scope(s): {tool.scope} (needed by {tool.name})",
                details={"required": [tool.scope], "granted": sorted(caller.scopes)},
            )
        self._count(caller)
        if tool.operation is not None:
            budgets.charge(self.srv, caller, tool.operation)
        # The tools call the engine's writes themselves: the account's memory quota goes with the engine.
        guard, room = accounts.quota_guard(self.srv, caller), accounts.quota_room(self.srv, caller)
        return self.srv.engine_for(caller.account.id).with_quota(guard, room)

    def _count(self, caller: Caller) -> None:
        now = datetime.fromtimestamp(self.srv.now() / 1000, UTC)
        plan = self.srv.server.plan(caller.root.plan_tier)
        limit = plan.mcp_daily_calls
        with self.srv.store.atomic():
            taken = self.srv.store.take_daily_call(caller.key.id, now.date().isoformat(), limit)
            if taken is not None:
                self.srv.usage.count_usage(caller.account.id, now.date().isoformat(), mcp_calls=1)
        if taken is not None:
            return
        resets = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        wait = max(1, int((resets - now).total_seconds()))
        raise RateLimited(
            f"Daily MCP call limit reached for this API key: {limit:,} / {limit:,} calls today on the "
            f"{plan.name} plan. It resets at {resets.strftime('%Y-%m-%dT%H:%M:%SZ')} (midnight UTC, in "
            f"{_duration(wait)}). {UPGRADE_HINT}",
            retry_after=wait,
            details={"current": limit, "limit": limit, "plan": plan.name, "resets_at": resets.isoformat()},
        )


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = max(1, rest // 60) if not hours else rest // 60
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def caller_of(ctx: Context) -> Caller:
    """The caller :class:`McpHttpEndpoint` attached to this request.

    Raises:
        Unauthorized: the call did not come through the authenticated HTTP endpoint.
    """
    request = ctx.request_context.request if ctx.request_context else None
    caller = getattr(request, "scope", {}).get(CALLER_SCOPE_KEY) if request is not None else None
    if not isinstance(caller, Caller):
        raise Unauthorized("Missing Authorization header")
    return caller


class McpHttpEndpoint:
    """ASGI endpoint: authenticate the bearer key, then hand the request to the MCP transport."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self._manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = await anyio.to_thread.run_sync(authenticate, Request(scope))
        except MemoryLayerError as exc:
            await _send_error(scope, send, exc)
            return
        await self._manager.handle_request({**scope, CALLER_SCOPE_KEY: caller}, receive, send)


async def _send_error(scope: Scope, send: Send, error: MemoryLayerError) -> None:
    envelope = error.to_dict()
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        envelope["request_id"] = request_id
    body = json.dumps({"error": envelope}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(error, Unauthorized):
        headers.append((b"www-authenticate", b'Bearer realm="memorylayer"'))
    if isinstance(error, RateLimited):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    status = error.status if 400 <= error.status < 600 else InternalError.status
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mount_mcp(app: FastAPI, path: str = "/mcp") -> StreamableHTTPSessionManager:
    """Serve the MCP tools at ``path`` on a server app from :func:`memorylayer.server.create_app`.

    The transport's task group runs inside the app's lifespan, which this wraps: serve the app with
    lifespan on (uvicorn does; in tests use ``with TestClient(app):``).
    """
    server = build_server(HttpAccess(app.state.server))
    # The API key is the protection here; DNS-rebinding checks would only refuse real hostnames.
    server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    app.router.routes.append(Route(path, endpoint=McpHttpEndpoint(manager), include_in_schema=False))
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with manager.run(), inner(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    return manager
