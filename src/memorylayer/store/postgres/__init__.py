"""The PostgreSQL + pgvector backend: one database shared by any number of stateless server replicas.

Everything a limit or an answer depends on lives in the database (rows, counters, idempotency
reservations, locks), and nearest-neighbour search runs in pgvector, so replicas keep no state that
changes an answer. See docs/deploy.md.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ...limits import BUSY_TIMEOUT_MS
from .accounts import PostgresAccountStore, PostgresSessionStore, PostgresUsageStore
from .db import Database, Migration
from .migrations import MIGRATIONS
from .registry import PostgresRegistryStore
from .store import PostgresStore
from .tarballs import DatabaseTarballs
from .vectors import PostgresVectorIndex


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
        self.registry = PostgresRegistryStore(self.database)

    def tarballs(self, home: Path) -> DatabaseTarballs:
        return DatabaseTarballs(self.database, home / "registry" / "cache")

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def vector_index(self, model_id: str, dimensions: int, *, threads: int = 2) -> PostgresVectorIndex:
        return PostgresVectorIndex(self.memories, self.database, model_id, dimensions)

    def check(self) -> None:
        self.database.one("SELECT 1 FROM schema_migrations LIMIT 1")

    def close(self) -> None:
        self.database.close()


__all__ = ["MIGRATIONS", "Database", "Migration", "PostgresBackend", "PostgresStore"]
