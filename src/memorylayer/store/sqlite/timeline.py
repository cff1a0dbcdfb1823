"""A memory's past on SQLite: its history entries, what was valid at an instant, the expiry sweep and the
recall log (access history, recall by recall)."""

from __future__ import annotations

import builtins
import json
import sqlite3
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ...types import HistoryEntry, MemoryRecord, now_ms
from ..base import earlier_value, ids_by_account
from .db import Database
from .faults import translating
from .rows import COLUMNS, FROM, record_of


@translating(lambda store: (store.database.path, store.database.busy_timeout_ms))
class SqliteTimeline:
    """The time-related methods of :class:`~memorylayer.store.sqlite.store.SqliteStore` (its base class)."""

    database: Database

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.database.conn

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.transaction()

    def delete(self, account: str, memory_ids: builtins.list[str], *, keep_history: bool = False) -> int:
        raise NotImplementedError  # SqliteStore's

    def add_history(self, entry: HistoryEntry, account: str) -> None:
        self._conn.execute(
            "INSERT INTO memory_history (account, memory_id, scope, key, value, metadata, importance, source,"
            " event, replaced_at, replaced_by, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                entry.memory_id,
                entry.scope,
                entry.key,
                entry.value,
                json.dumps(entry.metadata, ensure_ascii=False),
                entry.importance,
                entry.source,
                entry.event,
                entry.replaced_at,
                entry.replaced_by,
                entry.valid_from,
                entry.valid_to,
            ),
        )

    def history(
        self, account: str, *, memory_id: str | None, scope: str | None, key: str | None
    ) -> builtins.list[HistoryEntry]:
        if memory_id is not None:
            rows = self._conn.execute(
                "SELECT * FROM memory_history WHERE memory_id = ? AND +account = ? ORDER BY replaced_at, id",
                (memory_id, account),
            )
        else:
            rows = self._conn.execute(
                "SELECT * FROM memory_history WHERE account = ? AND scope = ? AND key = ? ORDER BY replaced_at, id",
                (account, scope, key),
            )
        return [
            HistoryEntry(
                memory_id=r["memory_id"],
                scope=r["scope"],
                key=r["key"],
                value=r["value"],
                metadata=json.loads(r["metadata"]),
                importance=r["importance"],
                source=r["source"],
                event=r["event"],
                replaced_at=r["replaced_at"],
                replaced_by=r["replaced_by"],
                valid_from=r["valid_from"],
                valid_to=r["valid_to"],
            )
            for r in rows
        ]

    def purge_expired(
        self,
        now: int,
        *,
        limit: int = 500,
        account: str | None = None,
        scope: str | None = None,
        key: str | None = None,
    ) -> int:
        with self.transaction() as conn:
            # Read and delete in one write transaction: a row whose expiry another process moved
            # later meanwhile is read as it is now, so nothing live is ever purged.
            sql = "SELECT account, id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?"
            params: list[Any] = [now]
            for column, value in (("account", account), ("scope", scope), ("key", key)):
                if value is not None:
                    sql += f" AND {column} = ?"
                    params.append(value)
            rows = conn.execute(sql + " ORDER BY expires_at LIMIT ?", (*params, limit)).fetchall()
            grouped = ids_by_account((str(r[0]), str(r[1])) for r in rows)
            return sum(self.delete(acc, ids) for acc, ids in grouped.items())

    def valid_at(self, account: str, scope: str, at: int, key: str | None = None) -> builtins.list[MemoryRecord]:
        now = now_ms()
        key_clause = " AND m.key = ?" if key is not None else ""
        key_param = [key] if key is not None else []
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE m.account = ? AND m.scope = ?{key_clause}"
            " AND coalesce(m.valid_from, m.created_at) <= ?"
            " AND ((m.superseded_by IS NULL AND m.valid_to IS NULL) OR m.valid_to > ?)"
            " AND (m.expires_at IS NULL OR m.expires_at > ?) ORDER BY m.rowid",
            (account, scope, *key_param, at, at, now),
        ).fetchall()
        found = [record_of(row) for row in rows]
        # A keyed memory's earlier values live in its history, with the interval each one held.
        for row in self._conn.execute(
            f"SELECT {COLUMNS}, h.value AS h_value, h.metadata AS h_metadata, h.importance AS h_importance,"
            f" h.valid_from AS h_from, h.valid_to AS h_to FROM memory_history h JOIN memories m ON m.id = h.memory_id"
            " LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid"
            f" WHERE h.account = ? AND h.scope = ?{key_clause.replace('m.key', 'h.key')} AND h.key IS NOT NULL"
            " AND h.event = 'updated' AND h.valid_from <= ? AND h.valid_to > ?"
            " AND m.superseded_by IS NULL AND coalesce(m.valid_from, m.created_at) > ?"
            " AND (m.expires_at IS NULL OR m.expires_at > ?) ORDER BY h.id",
            (account, scope, *key_param, at, at, at, now),
        ):
            found.append(earlier_value(record_of(row), row))
        return found

    # -- access history: what each recall returned, and when ------------------------------------
    def mark_recalled(self, account: str, memory_ids: Sequence[str], at: int) -> None:
        if not memory_ids:
            return
        with self.transaction() as conn:
            marks = ",".join("?" * len(memory_ids))
            # Access history is not a content change: seq and updated_at stay as they are.
            conn.execute(
                f"UPDATE memories SET last_recalled_at = ?, recall_count = recall_count + 1"
                f" WHERE id IN ({marks}) AND +account = ?",
                (at, *memory_ids, account),
            )
            conn.execute(
                "INSERT INTO memory_recalls (account, scope, recall_id, memory_id, at)"
                f" SELECT account, scope, ?, id, ? FROM memories WHERE id IN ({marks}) AND +account = ?",
                (uuid.uuid4().hex, at, *memory_ids, account),
            )

    def recalls(self, account: str, scope: str, since: int) -> builtins.list[tuple[str, str, int]]:
        rows = self._conn.execute(
            "SELECT r.recall_id, r.memory_id, r.at FROM memory_recalls r JOIN memories m ON m.id = r.memory_id"
            " WHERE r.account = ? AND r.scope = ? AND r.at >= ? AND m.superseded_by IS NULL ORDER BY r.at, r.recall_id",
            (account, scope, since),
        )
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def forget_recalls(self, account: str, scope: str, before: int) -> int:
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM memory_recalls WHERE account = ? AND scope = ? AND at < ?", (account, scope, before)
            )
            return cursor.rowcount

    def prune_recalls(self, before: int, *, limit: int = 5_000) -> int:
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM memory_recalls WHERE rowid IN"
                " (SELECT rowid FROM memory_recalls WHERE at < ? ORDER BY at LIMIT ?)",
                (before, limit),
            )
            return cursor.rowcount
