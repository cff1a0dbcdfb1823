"""Helpers for the MCP tests: tool calls that return the parsed JSON text, or the error text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from memorylayer.config import Settings
from support import serve_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _call(client: Client, tool: str, **arguments: Any) -> Any:
    """The tool's JSON answer; fails the test on a tool error."""
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    assert not result.is_error, text
    return json.loads(text)


async def _call_error(client: Client, tool: str, **arguments: Any) -> str:
    """The text of the tool error ``tool`` answers; fails the test if it succeeds."""
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    assert result.is_error, f"{tool} succeeded: {text}"
    return text


@pytest.fixture
def call() -> Any:
    return _call


@pytest.fixture
def call_error() -> Any:
    return _call_error


@dataclass
class RunningServer:
    url: str
    app: Any
    keys: dict[str, str]


@contextmanager
def running_server(home: Path) -> Iterator[RunningServer]:
    """``create_app`` with /mcp mounted, served by uvicorn, with three keys on two accounts."""
    from memorylayer.server import create_app
    from memorylayer.server.admin import create_account, create_key

    app = create_app(Settings.load(home=home))
    srv = app.state.server
    alice = create_account(srv.store, srv.server, "alice@example.com")
    bob = create_account(srv.store, srv.server, "bob@example.com")
    keys = {
        "alice": create_key(srv.store, alice.id, scopes="memory:read,memory:write")[1],
        "alice-read": create_key(srv.store, alice.id, scopes="memory:read")[1],
        "bob": create_key(srv.store, bob.id, scopes="memory:read,memory:write")[1],
    }
    try:
        with serve_in_thread(app, lifespan="on", log_level="warning") as base_url:
            yield RunningServer(f"{base_url}/mcp", app, keys)
    finally:
        srv.engine.close()


@pytest.fixture(scope="session")
def serve_mcp() -> Any:
    """``with serve_mcp(home) as running:`` a real server with /mcp on a local port."""
    return running_server
