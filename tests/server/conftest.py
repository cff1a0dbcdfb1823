"""The real server app on a real SQLite file in a tmp dir, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import Server, build


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEMORYLAYER_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def srv(home: Path) -> Iterator[Server]:
    server = build(home)
    with server.client:
        yield server
    server.state.engine.close()


@pytest.fixture
def user(srv: Server) -> str:
    """A raw full-scope key of a free account."""
    return srv.account("user@example.com")[1]


@pytest.fixture
def pro(srv: Server) -> str:
    """A raw full-scope key of a pro account."""
    return srv.account("pro@example.com", plan="pro")[1]
