"""A read-only look at a SQLite database file, for ``memorylayer doctor``: nothing is created or changed."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import StorageError
from ...limits import BUSY_TIMEOUT_MS
from .faults import storage_error
from .migrations import MIGRATIONS


@dataclass(frozen=True)
class DatabaseReport:
    """What ``doctor`` says about a database: its file, its integrity and its schema."""

    path: Path
    exists: bool
    size_bytes: int = 0
    mode: str = ""
    #: ``["ok"]``, or what ``PRAGMA integrity_check`` found wrong.
    integrity: list[str] = field(default_factory=list)
    applied_migrations: int = 0
    known_migrations: int = len(MIGRATIONS)
    journal_mode: str = ""
    memories: int | None = None
    #: The storage error met while reading it, if any.
    error: StorageError | None = None

    @property
    def healthy(self) -> bool:
        return self.exists and self.error is None and self.integrity == ["ok"]


def inspect_database(path: Path) -> DatabaseReport:
    """Open ``path`` read-only (a missing file is reported, never created) and check it through."""
    if not path.exists():
        return DatabaseReport(path, exists=False)
    info = path.stat()
    size, mode = info.st_size, oct(stat.S_IMODE(info.st_mode))
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
            journal = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
            names = _names(conn, "SELECT name FROM schema_migrations")
            memories = _count(conn, "SELECT count(*) FROM memories WHERE superseded_by IS NULL")
    except sqlite3.Error as exc:
        error = storage_error(exc, path, BUSY_TIMEOUT_MS) or StorageError(f"{path}: {exc}")
        return DatabaseReport(path, exists=True, size_bytes=size, mode=mode, error=error)
    known = {m.name for m in MIGRATIONS}
    return DatabaseReport(
        path,
        exists=True,
        integrity=integrity,
        applied_migrations=len(names & known),
        journal_mode=journal,
        memories=memories,
        size_bytes=size,
        mode=mode,
    )


def _names(conn: sqlite3.Connection, sql: str) -> set[str]:
    try:
        return {str(row[0]) for row in conn.execute(sql)}
    except sqlite3.OperationalError:  # no such table: not (yet) a MemoryLayer database
        return set()


def _count(conn: sqlite3.Connection, sql: str) -> int | None:
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return None
