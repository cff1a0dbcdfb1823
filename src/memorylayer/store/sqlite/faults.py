"""SQLite's failures of the environment as the storage errors of :mod:`memorylayer.errors`.

A read-only home, a full disk, a lock held past the busy timeout and a file that is not (or no
longer) a database each become a stable code and a sentence naming the file and what to do. Other
``sqlite3`` errors are bugs and pass through unchanged.
"""

from __future__ import annotations

import functools
import inspect
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ...errors import StorageBusy, StorageCorrupt, StorageError, StorageFull, StorageReadOnly

# Primary result codes (https://sqlite.org/rescode.html).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26
#: Free bytes under which an I/O error is taken for a full disk (a few SQLite pages).
_NEARLY_FULL = 64 * 1024
_HOME_HINT = "point MEMORYLAYER_HOME (or --home / --database) at a writable place"
T = TypeVar("T")


def storage_error(exc: sqlite3.Error, path: Path, busy_timeout_ms: int) -> StorageError | None:
    """The storage error ``exc`` means for the database at ``path``; None for errors that are bugs."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary in (_IOERR, _CANTOPEN) and _disk_full(path):
        primary = _FULL  # SQLite reports a full disk met while growing its -shm or -wal as an I/O error
    if primary in (_READONLY, _PERM) or "readonly" in text:
        return StorageReadOnly(
            f"{path} cannot be written ({text}): make it and its directory writable by you "
            f"(chmod u+w), or {_HOME_HINT}."
        )
    if primary == _CANTOPEN:
        return StorageReadOnly(
            f"{path} cannot be opened ({text}): its directory must exist and be writable (SQLite keeps "
            f"its -wal and -shm files beside it); fix the permissions, or {_HOME_HINT}."
        )
    if primary == _FULL:
        return StorageFull(f"{path}: the disk is full ({text}); nothing was written. Free some space and retry.")
    if primary in (_BUSY, _LOCKED):
        return StorageBusy(
            f"{path} stayed locked by another writer for more than {busy_timeout_ms / 1000:g} s ({text}); "
            "nothing was written. Retry, or stop the process holding it (raise MEMORYLAYER_BUSY_TIMEOUT_MS "
            "to wait longer)."
        )
    if primary in (_CORRUPT, _NOTADB):
        return StorageCorrupt(
            f"{path} is not a MemoryLayer database or is damaged ({text}). Move it away and restore a backup "
            "(or start afresh); `memorylayer doctor` checks a database file."
        )
    if primary == _IOERR:
        return StorageError(f"{path}: the disk reported an I/O error ({text}). Check the disk and retry.")
    return None


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < _NEARLY_FULL
    except OSError:
        return False


def translating(path_of: Callable[[Any], tuple[Path, int]]) -> Callable[[type[T]], type[T]]:
    """A class decorator: every public method raises storage errors instead of ``sqlite3`` ones.

    ``path_of(self)`` gives the database's path and busy timeout for the message.
    """

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from function(self, *args, **kwargs)
                except sqlite3.Error as exc:
                    error = storage_error(exc, *path_of(self))
                    if error is None:
                        raise
                    raise error from exc

            return generator

        @functools.wraps(function)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(self, *args, **kwargs)
            except sqlite3.Error as exc:
                error = storage_error(exc, *path_of(self))
                if error is None:
                    raise
                raise error from exc

        return method

    def decorate(cls: type[T]) -> type[T]:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member) and not _returns_context(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate


def _returns_context(function: Callable[..., Any]) -> bool:
    # @contextmanager methods (transaction, atomic) translate inside Database.transaction itself.
    return hasattr(function, "__wrapped__")
