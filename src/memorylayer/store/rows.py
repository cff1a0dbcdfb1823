"""How a memory row is read on every backend: the columns every read selects and the record they make.

Both backends keep the same columns; each backend's ``rows.py`` adds its live-row test (its own
placeholder style).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..types import MemoryRecord


class NamedRow(Protocol):
    """A database row whose columns are named: ``sqlite3.Row`` or the PostgreSQL store's ``Row``."""

    def keys(self) -> Any: ...

    def __getitem__(self, key: Any) -> Any: ...


COLUMNS = (
    "m.rowid, m.id, m.account, m.scope, m.key, m.value, m.metadata, m.importance, m.source, m.status, "
    "m.created_at, m.updated_at, m.last_recalled_at, m.recall_count, m.content_hash, m.superseded_by, "
    "m.expires_at, m.valid_from, m.valid_to, v.model AS model"
)
FROM = "memories m LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid"


def record_of(row: NamedRow) -> MemoryRecord:
    return MemoryRecord(
        id=row["id"],
        scope=row["scope"],
        key=row["key"],
        value=row["value"],
        metadata=json.loads(row["metadata"]),
        importance=row["importance"],
        source=row["source"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_recalled_at=row["last_recalled_at"],
        recall_count=row["recall_count"],
        content_hash=row["content_hash"],
        model=row["model"],
        superseded_by=row["superseded_by"],
        account=row["account"],
        expires_at=row["expires_at"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
    )


#: The columns an insert writes, in the order of :func:`insert_values`.
INSERT_COLUMNS = (
    "rowid, id, account, scope, key, value, metadata, importance, source, status, created_at, updated_at,"
    " last_recalled_at, recall_count, content_hash, superseded_by, seq, expires_at, valid_from, valid_to"
)


def insert_values(rowid: int, record: MemoryRecord) -> tuple[Any, ...]:
    """A new memory's row for :data:`INSERT_COLUMNS`: its row number is also its sequence number."""
    return (
        rowid,
        record.id,
        record.account,
        record.scope,
        record.key,
        record.value,
        json.dumps(record.metadata, ensure_ascii=False),
        record.importance,
        record.source,
        record.status,
        record.created_at,
        record.updated_at,
        record.last_recalled_at,
        record.recall_count,
        record.content_hash,
        record.superseded_by,
        rowid,
        record.expires_at,
        record.valid_from,
        record.valid_to,
    )
