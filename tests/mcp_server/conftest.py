"""Helpers for the MCP tests: tool calls that return the parsed JSON text, or the error text."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from mcp import Client

from memorylayer.config import Settings


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(home: Path) -> Iterator[RunningServer]:
    """``create_app`` with /mcp mounted, served by uvicorn, with three keys on two accounts."""
    from memorylayer.mcp_server.http import mount_on_server
    from memorylayer.server import create_app
    from memorylayer.server.admin import create_account, create_key

    app = create_app(Settings.load(home=home))
    if not any(getattr(route, "path", None) == "/mcp" for route in app.routes):
        mount_on_server(app)
    srv = app.state.server
    alice = create_account(srv.store, srv.server, "alice@example.com")
    bob = create_account(srv.store, srv.server, "bob@example.com")
    keys = {
        "alice": create_key(srv.store, alice.id, scopes="memory:read,memory:write")[1],
        "alice-read": create_key(srv.store, alice.id, scopes="memory:read")[1],
        "bob": create_key(srv.store, bob.id, scopes="memory:read,memory:write")[1],
    }
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}/mcp", app, keys)
    finally:
        server.should_exit = True
        thread.join(30)
        srv.engine.close()


@pytest.fixture(scope="session")
def serve_mcp() -> Any:
    """``with serve_mcp(home) as running:`` a real server with /mcp on a local port."""
    return running_server
