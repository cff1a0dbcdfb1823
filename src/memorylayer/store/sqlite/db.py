"""SQLite connections and named, append-only migrations shared by every SQLite-backed store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import InternalError, StorageCorrupt
from ...files import create_private, make_private, private_dir
from ...limits import BUSY_TIMEOUT_MS
from .faults import storage_error


@dataclass(frozen=True)
class Migration:
    """One schema step. Never edit a released one; add ``m00N_fix_...`` instead."""

    name: str
    sql: str


def connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in WAL mode, autocommit off (we open transactions ourselves), foreign keys on.

    A new database file is created 0600 (its directory 0700) before SQLite opens it; SQLite gives
    its -wal and -shm files the database's mode.

    Raises:
        StorageError: the file cannot be created or opened, or is not a database.
    """
    private_dir(path.parent)
    create_private(path)
    for suffix in ("", "-wal", "-shm"):
        make_private(path.with_name(path.name + suffix))
    timeout = busy_timeout_ms / 1000
    try:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise (storage_error(exc, path, busy_timeout_ms) or exc) from exc
    return conn


class Database:
    """One SQLite file shared by the stores of a process; one connection per thread.

    Every logical write runs in ``transaction()`` (``BEGIN IMMEDIATE``), so concurrent writers
    from other processes wait on the file lock instead of failing half-way.
    """

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.busy_timeout_ms)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception. Re-entrant per thread.

        Raises:
            StorageError: the write lock stayed busy past the timeout, the disk is full, the file is
                read-only or damaged; nothing was written.
        """
        conn = self.conn
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        self._execute(conn, "BEGIN IMMEDIATE")
        self._local.depth = 1
        self._local.changes_at_begin = conn.total_changes
        try:
            yield conn
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, sqlite3.Error) and (error := storage_error(exc, self.path, self.busy_timeout_ms)):
                raise error from exc
            raise
        else:
            try:
                self._execute(conn, "COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
        finally:
            self._local.depth = 0

    def _execute(self, conn: sqlite3.Connection, sql: str) -> None:
        try:
            conn.execute(sql)
        except sqlite3.Error as exc:
            raise (storage_error(exc, self.path, self.busy_timeout_ms) or exc) from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # A failed COMMIT or a full disk can already have ended the transaction.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def has_pending_writes(self) -> bool:
        """Whether this thread is inside a transaction that has written something a rollback would undo.

        Caches derived from the database (term counts, vector matrices) must not keep what such a
        transaction shows them.
        """
        conn = self.conn
        return conn.in_transaction and conn.total_changes != getattr(self._local, "changes_at_begin", -1)

    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply the migrations not yet recorded, each in its own transaction; return their names.

        A database that has them all is only read, so an up-to-date read-only file still opens.

        Raises:
            StorageError: the file cannot be written (when something is missing) or is not a database.
        """
        if not self._missing(migrations):
            return []
        applied: list[str] = []
        with self.transaction() as conn:
            conn.execute(
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
                    if error := storage_error(exc, self.path, self.busy_timeout_ms):
                        raise error from exc
                    raise InternalError(f"migration {migration.name} failed: {exc}") from exc
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, datetime('now'))",
                    (migration.name,),
                )
                applied.append(migration.name)
        return applied

    def _missing(self, migrations: Sequence[Migration]) -> bool:
        """Whether any of ``migrations`` is not applied yet.

        Raises:
            StorageCorrupt: the file is another program's SQLite database (tables, but none of ours).
        """
        try:
            tables = {
                row[0]
                for row in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
            ours = "schema_migrations" in tables
            names = {row[0] for row in self.conn.execute("SELECT name FROM schema_migrations")} if ours else set()
        except sqlite3.Error as exc:
            raise (storage_error(exc, self.path, self.busy_timeout_ms) or exc) from exc
        if tables and not ours:
            shown = ", ".join(sorted(tables)[:5])
            raise StorageCorrupt(
                f"{self.path} is another program's SQLite database (tables: {shown}), not a MemoryLayer one; "
                "nothing was changed. Point MEMORYLAYER_HOME or --database at a MemoryLayer database."
            )
        return any(m.name not in names for m in migrations)

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
