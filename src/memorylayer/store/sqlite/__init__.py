"""The embedded default backend: one SQLite file (WAL) holding memories and accounts."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ...limits import BUSY_TIMEOUT_MS
from ..tarballs import DirectoryTarballs
from .accounts import SqliteAccountStore
from .db import Database, Migration
from .faults import storage_error
from .migrations import MIGRATIONS
from .registry import SqliteRegistryStore
from .sessions import SqliteSessionStore, SqliteUsageStore
from .store import SqliteStore
from .vectors import SqliteVectorIndex


class SqliteBackend:
    """Implements :class:`memorylayer.store.base.Backend` on one SQLite file."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.database = Database(path, busy_timeout_ms=busy_timeout_ms)
        self.database.migrate(MIGRATIONS)
        self.memories = SqliteStore(self.database)
        self.accounts = SqliteAccountStore(self.database)
        self.sessions = SqliteSessionStore(self.database)
        self.usage = SqliteUsageStore(self.database)
        self.registry = SqliteRegistryStore(self.database)

    def tarballs(self, home: Path) -> DirectoryTarballs:
        return DirectoryTarballs(home / "registry" / "tarballs")

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def vector_index(self, model_id: str, dimensions: int, *, threads: int = 2) -> SqliteVectorIndex:
        return SqliteVectorIndex(self.memories, model_id, dimensions, threads=threads, folder=self.vector_folder)

    @property
    def vector_folder(self) -> Path:
        """Where derived vector index files live: ``<database>.vectors/`` beside the file."""
        return self.path.with_name(self.path.name + ".vectors")

    def check(self) -> None:
        try:
            self.database.conn.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise (storage_error(exc, self.path, self.database.busy_timeout_ms) or exc) from exc

    def close(self) -> None:
        self.database.close()


__all__ = [
    "Database",
    "Migration",
    "SqliteAccountStore",
    "SqliteBackend",
    "SqliteRegistryStore",
    "SqliteSessionStore",
    "SqliteStore",
    "SqliteUsageStore",
    "SqliteVectorIndex",
]
