"""PostgreSQL's failures of the environment as the storage errors of :mod:`memorylayer.errors`.

A server that cannot be reached, a lock held past the busy timeout, a full disk and a read-only
server each become a stable code and a sentence naming the database (never its password) and what
to do. Other ``psycopg`` errors are bugs and pass through unchanged.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg
from psycopg_pool import PoolTimeout

from ...errors import StorageBusy, StorageCorrupt, StorageError, StorageFull, StorageReadOnly


def storage_error(exc: BaseException, where: str, busy_timeout_ms: int) -> StorageError | None:
    """The storage error ``exc`` means for the database ``where``; None for errors that are bugs."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (pg.LockNotAvailable, pg.DeadlockDetected, pg.QueryCanceled, PoolTimeout)):
        return StorageBusy(
            f"{where} stayed locked by another writer for more than {busy_timeout_ms / 1000:g} s ({text}); "
            "nothing was written. Retry (raise MEMORYLAYER_BUSY_TIMEOUT_MS to wait longer)."
        )
    if isinstance(exc, (pg.DiskFull, pg.OutOfMemory)):
        return StorageFull(f"{where}: the database server is out of space ({text}); nothing was written.")
    if isinstance(exc, (pg.ReadOnlySqlTransaction, pg.InsufficientPrivilege)):
        return StorageReadOnly(
            f"{where} cannot be written ({text}): connect to the primary, as a role that may write its tables."
        )
    if isinstance(exc, (pg.DataCorrupted, pg.IndexCorrupted)):
        return StorageCorrupt(f"{where} reports damaged data ({text}); restore a backup (docs/deploy.md).")
    if isinstance(exc, (psycopg.OperationalError, pg.AdminShutdown, pg.CannotConnectNow)):
        return StorageError(
            f"{where} cannot be reached ({text}). Check that the server runs and the URL "
            "(host, port, user, database) is right; nothing was written."
        )
    return None
