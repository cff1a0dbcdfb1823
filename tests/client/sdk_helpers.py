"""Helpers shared by the SDK tests: in-process clients, a served app, the real server's setup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sdk_blocking import Blocking
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from memorylayer.client import AsyncClient, Client
from memorylayer.server import admin
from support import Clock, serve_in_thread

BASE_URL = "http://testserver"
ENV_NAMES = ("MEMORYLAYER_API_KEY", "WITHMEMORY_API_KEY", "MEMORYLAYER_BASE_URL", "WITHMEMORY_BASE_URL")


class DroppedConnections:
    """Counts down connection failures: the network, not our code, fails the first ``n`` requests."""

    def __init__(self, n: int) -> None:
        self.left = n

    def check(self, request: httpx.Request) -> None:
        if self.left > 0:
            self.left -= 1
            raise httpx.ConnectError("connection refused (simulated network)", request=request)


class _SyncDropping(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, drops: DroppedConnections) -> None:
        self.inner, self.drops = inner, drops

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.drops.check(request)
        return self.inner.handle_request(request)


class _AsyncDropping(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, drops: DroppedConnections) -> None:
        self.inner, self.drops = inner, drops

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.drops.check(request)
        return await self.inner.handle_async_request(request)


def in_process(kind: str, app: ASGIApp, *, drops: DroppedConnections | None = None, **options: Any) -> Any:
    """A ``Client`` over Starlette's ``TestClient``, or an ``AsyncClient`` over ``ASGITransport``."""
    options.setdefault("base_url", BASE_URL)
    if kind == "sync":
        http = TestClient(app)
        if drops is not None:
            http._transport = _SyncDropping(http._transport, drops)
        return Client(http_client=http, **options)
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
    if drops is not None:
        transport = _AsyncDropping(transport, drops)
    return Blocking(AsyncClient(http_client=httpx.AsyncClient(transport=transport), **options))


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """``app`` behind a real socket (uvicorn in a thread); yields its base URL."""
    with serve_in_thread(app) as base_url:
        yield base_url


# --- the real server, in-process --------------------------------------------------------------------

#: Extra plan tiers that make limits reachable in a test: one memory, one container; three API calls.
TEST_PLANS = {
    "tiny": {"memory_limit": 1, "containers": 1},
    "metered": {"monthly_api_calls": 3},
}
CACHE_MAX_ENTRIES = 3


@dataclass
class RealServer:
    """The real MemoryLayer app (one per test module) and helpers to make accounts without email."""

    app: Any
    clock: Clock
    home: Path
    emails: list[str] = field(default_factory=list)

    def new_key(self, plan: str = "pro") -> str:
        srv = self.app.state.server
        email = f"sdk-{uuid.uuid4().hex[:12]}@example.com"
        self.emails.append(email)
        account = admin.create_account(srv.store, srv.server, email, plan=plan)
        _, raw = admin.create_key(srv.store, account.id)
        return raw
