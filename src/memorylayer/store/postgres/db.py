"""The connection pool, transactions and named migrations of a MemoryLayer PostgreSQL database.

Every logical write runs in ``transaction()``, which first takes one advisory lock shared by all
writers: writers of every replica then run one after another, as SQLite's ``BEGIN IMMEDIATE`` makes
them, so a rule that reads and then writes (a keyed update, dedup, a quota) sees everything earlier
writers committed (READ COMMITTED gives each statement a fresh snapshot). Reads take no lock and run
on any pooled connection, so searches scale with replicas and pool size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from ...errors import InternalError, InvalidRequest, StorageCorrupt
from ...limits import BUSY_TIMEOUT_MS
from .. import display_url
from .faults import storage_error

#: The advisory lock every write transaction takes first (an arbitrary constant: "ML" "WR").
WRITE_LOCK = 0x4D4C5752
#: Connections one backend keeps at most; each replica has its own pool (docs/deploy.md, pool sizing).
POOL_SIZE = 8


@dataclass(frozen=True)
class Migration:
    """One schema step. Never edit a released one; add ``m00N_fix_...`` instead."""

    name: str
    sql: str


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, like ``sqlite3.Row``."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return tuple.__getitem__(self, self._index[item])
        return tuple.__getitem__(self, item)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class Database:
    """One PostgreSQL database shared by the stores of a process; one pooled connection per transaction."""

    def __init__(self, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.where = display_url(url)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # lock_timeout bounds every wait for a lock (the writers' lock included): then storage_busy.
        # Options the URL carries (e.g. ``-c search_path=memorylayer``, a schema of its own) are kept.
        options = f"-c lock_timeout={int(busy_timeout_ms)} -c idle_in_transaction_session_timeout=600000"
        try:
            given = conninfo_to_dict(url).get("options")
        except psycopg.ProgrammingError as exc:
            raise InvalidRequest(f"database: not a valid PostgreSQL URL ({exc})") from exc
        if given:
            options = f"{given} {options}"
        self._kwargs: dict[str, Any] = {"autocommit": True, "row_factory": _rows, "options": options}
        self._pool: ConnectionPool[Any] | None = None
        self._pool_size = pool_size
        self._pool_lock = threading.Lock()

    def fault(self, exc: BaseException) -> BaseException:
        return storage_error(exc, self.where, self.busy_timeout_ms) or exc

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, connect_timeout=10, **self._kwargs)
        except psycopg.Error as exc:
            raise self.fault(exc) from exc

    @property
    def pool(self) -> ConnectionPool[Any]:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    from pgvector.psycopg import register_vector

                    self._pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self._pool_size,
                        kwargs=self._kwargs,
                        configure=register_vector,
                        timeout=max(self.busy_timeout_ms / 1000, 1.0),
                        open=True,
                        name="memorylayer",
                    )
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's transaction's connection, else a pooled one for one statement or a few reads."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.pool.connection() as pooled:
                yield pooled
        except psycopg.Error as exc:
            raise self.fault(exc) from exc
        except Exception as exc:
            error = storage_error(exc, self.where, self.busy_timeout_ms)
            if error is None:
                raise
            raise error from exc

    def execute(self, query: Any, params: Sequence[Any] | None = None, *, binary: bool = False) -> list[Row]:
        """Run one statement; its rows ([] for one that returns none). ``binary`` has the results sent
        in PostgreSQL's binary format (vectors arrive as raw floats instead of text to parse).

        Raises:
            InvalidRequest: a text parameter of a write holds NUL, which PostgreSQL cannot store (the
                engine refuses NUL everywhere; this is the last guard).
        """
        if params and any(isinstance(p, str) and "\x00" in p for p in params):
            if isinstance(query, str) and query.lstrip().upper().startswith("SELECT"):
                return []  # nothing stored holds NUL, so a lookup by such a text finds nothing
            raise InvalidRequest("text must not contain NUL characters")
        with self.connection() as conn:
            try:
                cursor = conn.execute(query, params, binary=binary)
                return cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                raise self.fault(exc) from exc

    def one(self, query: Any, params: Sequence[Any] | None = None) -> Row | None:
        rows = self.execute(query, params)
        return rows[0] if rows else None

    def rowcount(self, query: Any, params: Sequence[Any] | None = None) -> int:
        with self.connection() as conn:
            try:
                return int(conn.execute(query, params).rowcount)
            except psycopg.Error as exc:
                raise self.fault(exc) from exc

    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    @contextmanager
    def transaction(self, *, exclusive: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """One transaction holding the writers' lock; rolls back on any exception. Re-entrant per thread.

        ``exclusive=False`` defers the writers' lock: the transaction takes it only when a nested
        exclusive transaction (a memory write) or :meth:`hold_writers_lock` asks for it, before any
        named lock, so locks are always taken in one order. Writes that are atomic by themselves (one
        conditional statement, or a row lock: per-request metering and counters) thus never queue
        behind memory writes.

        Raises:
            StorageError: the lock stayed busy past the timeout, or the server failed; nothing was written.
        """
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            if exclusive:
                self.hold_writers_lock()
            yield conn
            return
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    self._local.conn = conn
                    self._local.exclusive = False
                    self._local.before_commit = []
                    self._local.pending = {}
                    try:
                        if exclusive:
                            self.hold_writers_lock()
                        yield conn
                        for flush in self._local.before_commit:
                            flush()
                    finally:
                        self._local.conn = None
                        self._local.before_commit = []
                        self._local.pending = {}
        except psycopg.Error as exc:
            raise self.fault(exc) from exc
        except Exception as exc:
            error = storage_error(exc, self.where, self.busy_timeout_ms)
            if error is None:
                raise
            raise error from exc

    def before_commit(self, flush: Callable[[], None]) -> None:
        """Run ``flush`` once at the end of this thread's transaction, inside it, before COMMIT.

        For counters a transaction changes many times: PostgreSQL keeps every version of a row updated
        in one transaction, so 2,000 updates of one row cost 2,000 x 2,000 steps; one update at the end
        costs one.
        """
        if flush not in self._local.before_commit:
            self._local.before_commit.append(flush)

    def pending(self) -> dict[str, Any]:
        """Scratch space of this thread's transaction (what ``before_commit`` flushes); new per transaction."""
        found: dict[str, Any] = self._local.pending
        return found

    def hold_writers_lock(self) -> None:
        """Inside a transaction: take the writers' lock now unless this transaction holds it already.

        Statements after it see every write committed before (READ COMMITTED).
        """
        if not getattr(self._local, "exclusive", False):
            self._local.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            self._local.exclusive = True

    @contextmanager
    def savepoint(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction (or, inside one, a savepoint) that a failing statement rolls back alone.

        PostgreSQL aborts a whole transaction on an error; a statement whose error is an answer
        (a unique key taken: Conflict) runs in a savepoint so the caller's transaction goes on.
        """
        with self.transaction() as conn, conn.transaction():
            yield conn

    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply the migrations not yet recorded, each in its own transaction; return their names.

        Replicas starting together apply each once: they take an advisory lock on the list first.

        Raises:
            StorageError: the server cannot be reached or written.
            StorageCorrupt: the database holds another program's tables and none of ours.
        """
        applied: list[str] = []
        conn = self._connect()
        try:
            with conn:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK + 1,))
                    self._refuse_foreign(conn)
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now(), position serial)"
                    )
                    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
                    for migration in migrations:
                        if migration.name in done:
                            continue
                        try:
                            with conn.transaction():
                                conn.execute(sql.SQL(migration.sql))
                                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))
                        except psycopg.Error as exc:
                            if error := storage_error(exc, self.where, self.busy_timeout_ms):
                                raise error from exc
                            raise InternalError(f"migration {migration.name} failed: {exc}") from exc
                        applied.append(migration.name)
        except psycopg.Error as exc:
            raise self.fault(exc) from exc
        return applied

    def _refuse_foreign(self, conn: psycopg.Connection[Any]) -> None:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
        if tables and "schema_migrations" not in tables:
            shown = ", ".join(sorted(tables)[:5])
            raise StorageCorrupt(
                f"{self.where} holds another program's tables ({shown}), not a MemoryLayer database; "
                "nothing was changed. Give MemoryLayer its own database (or schema)."
            )

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
