"""The MCP tools over streamable HTTP at ``/mcp`` on ``memorylayer serve``.

Every request carries ``Authorization: Bearer <api key>``, checked by the server's own
``authenticate`` function (the same keys as ``/v1``). Each tool call then needs the key's
``memory:read`` or ``memory:write`` scope, runs on the engine of the key's account (or
container), so another account's memories are invisible, and counts against the key's daily
call limit (by plan, per UTC day).

The transport is stateless with JSON responses: any replica can answer any request, and nothing
about a client lives in a server process.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..engine.types import now_ms
from ..errors import InsufficientScope, InternalError, MemoryLayerError, RateLimited, Unauthorized
from ..store.sqlite.db import Database, Migration
from .tools import ToolSpec, build_server

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..engine import Engine

PRINCIPAL_SCOPE_KEY = "memorylayer.mcp_principal"

#: Calls per API key per UTC day, by plan tier. The seed's tiers are Free, Pro and Pro+; the
#: WithMemory tiers (basic, team, enterprise) map onto them.
DEFAULT_DAILY_LIMITS: dict[str, int] = {
    "free": 200,
    "basic": 2_000,
    "pro": 2_000,
    "pro+": 20_000,
    "team": 20_000,
    "enterprise": 20_000,
}
LIMITS_ENV = "MEMORYLAYER_MCP_DAILY_LIMITS"
UPGRADE_HINT = (
    "To raise it, upgrade the account's plan (Free 200, Pro 2,000, Pro+ 20,000 calls a day; "
    "POST /v1/account/checkout) or, on a self-hosted server, set MEMORYLAYER_MCP_DAILY_LIMITS "
    "(e.g. 'free=1000,pro=10000')."
)


@dataclass(frozen=True)
class McpPrincipal:
    """Who is calling: the API key, the tenant its memories live in, what it may do."""

    key_id: str
    #: The engine tenant: the key's account id, or its container's id for a container key.
    account: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    plan: str = "free"
    #: Calls a day for this key; None means the limit of ``plan``.
    daily_limit: int | None = None


#: Turns a request (its ``Authorization`` header) into a principal; raises ``Unauthorized`` (or a
#: subclass), or any ``MemoryLayerError``, to refuse it. Called in a worker thread.
Authenticate = Callable[[Request], McpPrincipal]


def parse_daily_limits(text: str) -> dict[str, int]:
    """``'free=200,pro=2000'`` → ``{'free': 200, 'pro': 2000}`` merged over the defaults.

    Raises:
        InvalidRequest: an entry is not ``plan=<non-negative integer>``.
    """
    from ..errors import InvalidRequest

    limits = dict(DEFAULT_DAILY_LIMITS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        plan, sep, value = part.partition("=")
        if not sep or not plan.strip() or not value.strip().isdigit():
            raise InvalidRequest(f"{LIMITS_ENV}: expected 'plan=calls' entries, got {part!r}")
        limits[plan.strip().lower()] = int(value)
    return limits


class SqliteCallCounter:
    """Daily call counts per key in the server's SQLite file, shared by every process using it."""

    MIGRATIONS = (
        Migration(
            "mcp001_daily_calls",
            """
            CREATE TABLE IF NOT EXISTS mcp_daily_calls (
                key_id TEXT NOT NULL,
                day TEXT NOT NULL,
                calls INTEGER NOT NULL,
                PRIMARY KEY (key_id, day)
            );
            """,
        ),
    )

    def __init__(self, database: Database | Path) -> None:
        self._db = database if isinstance(database, Database) else Database(database)
        self._db.migrate(self.MIGRATIONS)

    def take(self, key_id: str, day: str, limit: int) -> int | None:
        """Count one call unless ``limit`` calls were already counted; the new count, or None."""
        if limit <= 0:
            return None
        with self._db.transaction() as conn:
            row = conn.execute(
                "INSERT INTO mcp_daily_calls (key_id, day, calls) VALUES (?, ?, 1) "
                "ON CONFLICT (key_id, day) DO UPDATE SET calls = calls + 1 WHERE calls < ? "
                "RETURNING calls",
                (key_id, day, limit),
            ).fetchone()
        return None if row is None else int(row[0])

    def used(self, key_id: str, day: str) -> int:
        row = self._db.conn.execute(
            "SELECT calls FROM mcp_daily_calls WHERE key_id = ? AND day = ?", (key_id, day)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        self._db.close()


class HttpAccess:
    """Per call: the caller's principal, its scope, its daily limit, then its tenant's engine."""

    def __init__(
        self,
        engine: Engine,
        counter: SqliteCallCounter,
        daily_limits: Mapping[str, int],
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._engine = engine
        self._counter = counter
        self._limits = dict(daily_limits)
        self._clock = clock

    def engine(self, ctx: Context, tool: ToolSpec) -> Engine:
        principal = principal_of(ctx)
        if tool.scope not in principal.scopes:
            raise InsufficientScope(
                f"API key lacks required scope(s): {tool.scope} (needed by {tool.name})",
                details={"required": [tool.scope], "granted": sorted(principal.scopes)},
            )
        self._count(principal)
        return self._engine.for_account(principal.account)

    def _count(self, principal: McpPrincipal) -> None:
        now = datetime.fromtimestamp(self._clock() / 1000, UTC)
        plan = principal.plan.lower()
        limit = principal.daily_limit
        if limit is None:
            limit = self._limits.get(plan, self._limits.get("free", DEFAULT_DAILY_LIMITS["free"]))
        if self._counter.take(principal.key_id, now.date().isoformat(), limit) is not None:
            return
        resets = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        wait = max(1, int((resets - now).total_seconds()))
        raise RateLimited(
            f"Daily MCP call limit reached for this API key: {limit:,} / {limit:,} calls today on the "
            f"{plan} plan. It resets at {resets.strftime('%Y-%m-%dT%H:%M:%SZ')} (midnight UTC, in "
            f"{_duration(wait)}). {UPGRADE_HINT}",
            retry_after=wait,
            details={"current": limit, "limit": limit, "plan": plan, "resets_at": resets.isoformat()},
        )


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = max(1, rest // 60) if not hours else rest // 60
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def principal_of(ctx: Context) -> McpPrincipal:
    """The principal ``McpHttpEndpoint`` attached to this request.

    Raises:
        Unauthorized: the call did not come through the authenticated HTTP endpoint.
    """
    request = ctx.request_context.request if ctx.request_context else None
    principal = getattr(request, "scope", {}).get(PRINCIPAL_SCOPE_KEY) if request is not None else None
    if not isinstance(principal, McpPrincipal):
        raise Unauthorized("Missing Authorization header")
    return principal


class McpHttpEndpoint:
    """ASGI endpoint: authenticate the bearer key, then hand the request to the MCP transport."""

    def __init__(self, manager: StreamableHTTPSessionManager, authenticate: Authenticate) -> None:
        self._manager = manager
        self._authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            principal = await anyio.to_thread.run_sync(self._authenticate, Request(scope))
        except MemoryLayerError as exc:
            await _send_error(scope, send, exc)
            return
        await self._manager.handle_request({**scope, PRINCIPAL_SCOPE_KEY: principal}, receive, send)


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


def mount_mcp(
    app: Starlette,
    *,
    engine: Engine,
    authenticate: Authenticate,
    counter: SqliteCallCounter,
    daily_limits: Mapping[str, int] | None = None,
    path: str = "/mcp",
    clock: Callable[[], int] = now_ms,
) -> StreamableHTTPSessionManager:
    """Serve the MCP tools at ``path`` on ``app`` (Starlette or FastAPI), authenticated by ``authenticate``.

    The transport's task group runs inside ``app``'s lifespan, which this wraps: serve the app with
    lifespan on (uvicorn does; in tests use ``with TestClient(app):``).
    """
    limits = daily_limits if daily_limits is not None else parse_daily_limits(os.environ.get(LIMITS_ENV, ""))
    access = HttpAccess(engine, counter, limits, clock)
    server = build_server(access)
    # The API key is the protection here; DNS-rebinding checks would only refuse real hostnames.
    server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    app.router.routes.append(
        Route(path, endpoint=McpHttpEndpoint(manager, authenticate), include_in_schema=False)
    )

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with manager.run(), inner(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    return manager


def mount_on_server(app: Any, path: str = "/mcp") -> StreamableHTTPSessionManager:
    """Mount ``/mcp`` on an app from :func:`memorylayer.server.create_app`, with its keys and clock.

    The key's account (or container) owns the memories; its root account's plan sets the daily
    limit; each MCP HTTP request also passes the server's own authentication (and its metering).
    """
    from ..server.auth import authenticate
    from ..server.core import ServerState

    srv: ServerState = app.state.server

    def principal(request: Request) -> McpPrincipal:
        caller = authenticate(request)
        return McpPrincipal(
            key_id=caller.key.id,
            account=caller.account.id,
            scopes=frozenset(caller.scopes),
            plan=caller.root.plan_tier,
        )

    database = srv.engine.database
    counter = SqliteCallCounter(database if isinstance(database, Database) else srv.settings.database_path)
    return mount_mcp(
        app, engine=srv.engine, authenticate=principal, counter=counter, path=path, clock=srv.now
    )


__all__ = [
    "DEFAULT_DAILY_LIMITS",
    "Authenticate",
    "HttpAccess",
    "McpHttpEndpoint",
    "McpPrincipal",
    "SqliteCallCounter",
    "mount_mcp",
    "mount_on_server",
    "parse_daily_limits",
]
