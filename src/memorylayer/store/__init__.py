"""Persistence behind small protocols; the engine owns every rule, stores only keep data.

:func:`open_backend` is the one place that turns a database URL into a backend.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidRequest, NotConfigured
from ..limits import BUSY_TIMEOUT_MS
from .base import Backend, Store, StoredVector, VectorIndex

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL or plain path; None for any other scheme."""
    if url.startswith(SQLITE_PREFIX):
        return Path(url[len(SQLITE_PREFIX) :]).expanduser()
    if "://" in url:
        return None
    return Path(url).expanduser()


def display_url(url: str) -> str:
    """``url`` without its password: what messages, logs and ``Backend.url`` show."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def open_backend(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Backend:
    """The backend behind ``url``: ``sqlite:///<path>`` or a plain path (created with its tables), or
    ``postgresql://user@host:port/db`` (PostgreSQL >= 15 with pgvector >= 0.5; its tables are created).

    ``busy_timeout_ms`` bounds how long a write waits for another writer's lock (then ``storage_busy``).

    Raises:
        InvalidRequest: an empty URL or an unknown scheme.
        NotConfigured: a PostgreSQL URL without the ``postgres`` extra installed.
        StorageError: the database cannot be created, opened or migrated (read-only, full, busy, corrupt).
    """
    if not url:
        raise InvalidRequest("database: expected a SQLite path or URL")
    path = sqlite_path(url)
    if path is not None:
        from .sqlite import SqliteBackend

        return SqliteBackend(path, busy_timeout_ms=busy_timeout_ms)
    if url.startswith(POSTGRES_PREFIXES):
        try:
            from .postgres import PostgresBackend
        except ImportError as exc:
            raise NotConfigured(
                f"a PostgreSQL database needs the postgres extra ({exc.name} is missing): "
                "pip install 'memorylayer-agents[postgres]'"
            ) from exc
        return PostgresBackend(url, busy_timeout_ms=busy_timeout_ms)
    raise InvalidRequest(
        f"unsupported database URL: {url.split('://')[0]}:// (expected sqlite:///, postgresql:// or a path)"
    )


__all__ = ["Backend", "Store", "StoredVector", "VectorIndex", "display_url", "open_backend", "sqlite_path"]
