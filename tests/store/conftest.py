"""The store conformance suite: every test here takes a backend fixture and so runs once per backend.

A backend is proven by adding its kind to the ``database`` fixture's params and a factory to
``FACTORIES``: a fresh, empty database of that kind and what the suite cannot learn
through the :class:`~memorylayer.store.base.Backend` protocol (how to list the applied migrations).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from store_support import DatabaseUnderTest

from memorylayer.store import Backend, Store
from memorylayer.store.accounts import AccountStore


def _sqlite_database(tmp_path: Path) -> DatabaseUnderTest:
    path = tmp_path / "conformance.db"

    def applied_migrations() -> list[str]:
        with closing(sqlite3.connect(path)) as conn:
            return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]

    return DatabaseUnderTest(kind="sqlite", url=f"sqlite:///{path}", applied_migrations=applied_migrations)


def _postgres_database(tmp_path: Path) -> DatabaseUnderTest:
    import psycopg

    from postgres_server import shared

    url = shared().new_database()

    def applied_migrations() -> list[str]:
        with psycopg.connect(url) as conn:
            return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY position")]

    return DatabaseUnderTest(kind="postgres", url=url, applied_migrations=applied_migrations)


#: One factory per backend kind: a fresh database (for PostgreSQL, on the PostgreSQL + pgvector
#: server this run starts, tests/postgres_server.py).
FACTORIES: dict[str, Callable[[Path], DatabaseUnderTest]] = {
    "sqlite": _sqlite_database,
    "postgres": _postgres_database,
}


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseUnderTest:
    """A fresh database of one backend kind; ``open()`` it again for a second process's view."""
    return FACTORIES[request.param](tmp_path)


@pytest.fixture
def backend(database: DatabaseUnderTest) -> Iterator[Backend]:
    opened = database.open()
    yield opened
    opened.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.memories


@pytest.fixture
def accounts(backend: Backend) -> AccountStore:
    return backend.accounts
