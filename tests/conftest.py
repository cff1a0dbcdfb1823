"""Shared fixtures: every test gets its own MemoryLayer home; the real model loads once per process.

``--backend postgres`` runs the same tests on PostgreSQL: every test's home then points
MEMORYLAYER_DATABASE at a fresh database on the one PostgreSQL + pgvector server this run starts
(``tests/postgres_server.py``), so engines, servers, the SDK and MCP all use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memorylayer.engine import Engine


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the database every test's engine and server use (postgres: a server this run starts)",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import postgres_server

    postgres_server.stop_shared()


@pytest.fixture(autouse=True)
def memorylayer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MEMORYLAYER_HOME", str(home))
    for name in (
        "MEMORYLAYER_LLM_BASE_URL",
        "MEMORYLAYER_LLM_API_KEY",
        "MEMORYLAYER_RERANKER_PATH",
        "MEMORYLAYER_DATABASE",
    ):
        monkeypatch.delenv(name, raising=False)
    if request.config.getoption("--backend") == "postgres" and "sqlite_only" not in request.keywords:
        from postgres_server import shared

        monkeypatch.setenv("MEMORYLAYER_DATABASE", shared().new_database())
    return home


@pytest.fixture
def engine(memorylayer_home: Path) -> Iterator[Engine]:
    eng = Engine.open(memorylayer_home)
    yield eng
    eng.close()
