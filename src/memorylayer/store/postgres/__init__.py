"""The PostgreSQL + pgvector backend: one database shared by any number of stateless server replicas.

Everything a limit or an answer depends on lives in the database (rows, counters, idempotency
reservations, locks), and nearest-neighbour search runs in pgvector, so replicas keep no state that
changes an answer. See docs/deploy.md.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NoReturn, cast

from ...errors import NotConfigured
from ...limits import BUSY_TIMEOUT_MS
from ..registry import RegistryStore
from .accounts import PostgresAccountStore, PostgresSessionStore, PostgresUsageStore
from .db import Database, Migration
from .migrations import MIGRATIONS
from .store import PostgresStore
from .vectors import PostgresVectorIndex


class RegistryNotOnPostgres:
    """The package registry is not kept on PostgreSQL yet: every call answers ``not_configured``.

    Memories, accounts and everything else serve from PostgreSQL; the registry's routes and
    ``memorylayer add`` need a SQLite database for now (docs/deploy.md).
    """

    def __getattr__(self, name: str) -> Callable[..., NoReturn]:
        def refuse(*args: Any, **kwargs: Any) -> NoReturn:
            raise NotConfigured(
                "the package registry is not available on a PostgreSQL database yet; "
                "serve the registry from a SQLite database (docs/deploy.md)"
            )

        return refuse


class PostgresBackend:
    """Implements :class:`memorylayer.store.base.Backend` on one PostgreSQL database."""

    def __init__(self, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.database = Database(url, busy_timeout_ms=busy_timeout_ms)
        self.url = self.database.where
        self.database.migrate(MIGRATIONS)
        self.memories = PostgresStore(self.database)
        self.accounts = PostgresAccountStore(self.database)
        self.sessions = PostgresSessionStore(self.database)
        self.usage = PostgresUsageStore(self.database)
        self.registry = cast("RegistryStore", RegistryNotOnPostgres())

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def vector_index(self, model_id: str, dimensions: int, *, threads: int = 2) -> PostgresVectorIndex:
        return PostgresVectorIndex(self.memories, self.database, model_id, dimensions)

    def check(self) -> None:
        self.database.one("SELECT 1 FROM schema_migrations LIMIT 1")

    def close(self) -> None:
        self.database.close()


__all__ = ["MIGRATIONS", "Database", "Migration", "PostgresBackend", "PostgresStore"]
