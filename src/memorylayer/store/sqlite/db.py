"""SQLite connections and named, append-only migrations shared by every SQLite-backed store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import InternalError

#: How long a writer waits for another process's write lock before failing (ms).
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Migration:
    """One schema step. Never edit a released one; add ``m00N_fix_...`` instead."""

    name: str
    sql: str


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode, autocommit off (we open transactions ourselves), foreign keys on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Database:
    """One SQLite file shared by the stores of a process; one connection per thread.

    Every logical write runs in ``transaction()`` (``BEGIN IMMEDIATE``), so concurrent writers
    from other processes wait on the file lock instead of failing half-way.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception. Re-entrant per thread."""
        conn = self.conn
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        self._local.changes_at_begin = conn.total_changes
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def has_pending_writes(self) -> bool:
        """Whether this thread is inside a transaction that has written something a rollback would undo.

        Caches derived from the database (term counts, vector matrices) must not keep what such a
        transaction shows them.
        """
        conn = self.conn
        return conn.in_transaction and conn.total_changes != getattr(self._local, "changes_at_begin", -1)

    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply the migrations not yet recorded, each in its own transaction; return their names."""
        applied: list[str] = []
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for migration in migrations:
            with self.transaction() as conn:
                done = conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (migration.name,)).fetchone()
                if done:
                    continue
                try:
                    for statement in _statements(migration.sql):
                        conn.execute(statement)
                except sqlite3.Error as exc:
                    raise InternalError(f"migration {migration.name} failed: {exc}") from exc
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, datetime('now'))",
                    (migration.name,),
                )
                applied.append(migration.name)
        return applied

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _statements(sql: str) -> list[str]:
    # sqlite3.complete_statement lets triggers (with inner semicolons) stay whole.
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
