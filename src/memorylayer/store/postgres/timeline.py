"""A memory's past on PostgreSQL: its history entries, what was valid at an instant, the expiry sweep and
the recall log (access history, recall by recall)."""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ...types import HistoryEntry, MemoryRecord, now_ms
from ..base import earlier_value, ids_by_account
from .db import Database, Row
from .rows import COLUMNS, FROM, record_of


class PostgresTimeline:
    """The time-related methods of :class:`~memorylayer.store.postgres.store.PostgresStore` (its base class)."""

    database: Database

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def _run(self, query: str, params: Sequence[Any] | None = None) -> list[Row]:
        return self.database.execute(query, params)

    def delete(self, account: str, memory_ids: Sequence[str], *, keep_history: bool = False) -> int:
        raise NotImplementedError  # PostgresStore's

    def add_history(self, entry: HistoryEntry, account: str) -> None:
        self._run(
            "INSERT INTO memory_history (account, memory_id, scope, key, value, metadata, importance, source,"
            " event, replaced_at, replaced_by, valid_from, valid_to)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
            rows = self._run(
                "SELECT * FROM memory_history WHERE memory_id = %s AND account = %s ORDER BY replaced_at, id",
                (memory_id, account),
            )
        else:
            rows = self._run(
                "SELECT * FROM memory_history WHERE account = %s AND scope = %s AND key = %s ORDER BY replaced_at, id",
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
        with self.transaction():
            # The writers' lock serialises sweeps of every replica: a row is read and deleted by
            # one of them, and one whose expiry was moved later meanwhile is read as it is now.
            sql = "SELECT account, id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= %s"
            params: list[Any] = [now]
            for column, value in (("account", account), ("scope", scope), ("key", key)):
                if value is not None:
                    sql += f" AND {column} = %s"
                    params.append(value)
            rows = self._run(sql + " ORDER BY expires_at, rowid LIMIT %s", (*params, limit))
            grouped = ids_by_account((str(r[0]), str(r[1])) for r in rows)
            return sum(self.delete(acc, ids) for acc, ids in grouped.items())

    def valid_at(self, account: str, scope: str, at: int, key: str | None = None) -> builtins.list[MemoryRecord]:
        now = now_ms()
        key_clause = " AND m.key = %s" if key is not None else ""
        key_param = [key] if key is not None else []
        rows = self._run(
            f"SELECT {COLUMNS} FROM {FROM} WHERE m.account = %s AND m.scope = %s{key_clause}"
            " AND coalesce(m.valid_from, m.created_at) <= %s"
            " AND ((m.superseded_by IS NULL AND m.valid_to IS NULL) OR m.valid_to > %s)"
            " AND (m.expires_at IS NULL OR m.expires_at > %s) ORDER BY m.rowid",
            (account, scope, *key_param, at, at, now),
        )
        found = [record_of(row) for row in rows]
        # A keyed memory's earlier values live in its history, with the interval each one held.
        for row in self._run(
            f"SELECT {COLUMNS}, h.value AS h_value, h.metadata AS h_metadata, h.importance AS h_importance,"
            " h.valid_from AS h_from, h.valid_to AS h_to FROM memory_history h JOIN memories m ON m.id = h.memory_id"
            " LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid"
            f" WHERE h.account = %s AND h.scope = %s{key_clause.replace('m.key', 'h.key')} AND h.key IS NOT NULL"
            " AND h.event = 'updated' AND h.valid_from <= %s AND h.valid_to > %s"
            " AND m.superseded_by IS NULL AND coalesce(m.valid_from, m.created_at) > %s"
            " AND (m.expires_at IS NULL OR m.expires_at > %s) ORDER BY h.id",
            (account, scope, *key_param, at, at, at, now),
        ):
            found.append(earlier_value(record_of(row), row))
        return found

    # -- access history: what each recall returned, and when ------------------------------------
    def mark_recalled(self, account: str, memory_ids: Sequence[str], at: int) -> None:
        if not memory_ids:
            return
        with self.database.transaction(exclusive=False):  # an UPDATE and an INSERT of other rows: no lock order to keep
            # Access history is not a content change: seq and updated_at stay as they are.
            self._run(
                "UPDATE memories SET last_recalled_at = %s, recall_count = recall_count + 1"
                " WHERE id = ANY(%s::text[]) AND account = %s",
                (at, list(memory_ids), account),
            )
            self._run(
                "INSERT INTO memory_recalls (account, scope, recall_id, memory_id, at)"
                " SELECT account, scope, %s, id, %s FROM memories WHERE id = ANY(%s::text[]) AND account = %s",
                (uuid.uuid4().hex, at, list(memory_ids), account),
            )

    def recalls(self, account: str, scope: str, since: int) -> builtins.list[tuple[str, str, int]]:
        rows = self._run(
            "SELECT r.recall_id, r.memory_id, r.at FROM memory_recalls r JOIN memories m ON m.id = r.memory_id"
            " WHERE r.account = %s AND r.scope = %s AND r.at >= %s AND m.superseded_by IS NULL"
            " ORDER BY r.at, r.recall_id",
            (account, scope, since),
        )
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def forget_recalls(self, account: str, scope: str, before: int) -> int:
        with self.transaction():
            rows = self._run(
                "DELETE FROM memory_recalls WHERE account = %s AND scope = %s AND at < %s RETURNING 1",
                (account, scope, before),
            )
            return len(rows)

    def prune_recalls(self, before: int, *, limit: int = 5_000) -> int:
        with self.transaction():
            # SKIP LOCKED: replicas sweeping at once take different rows instead of waiting on each other.
            rows = self._run(
                "DELETE FROM memory_recalls WHERE ctid IN (SELECT ctid FROM memory_recalls WHERE at < %s"
                " ORDER BY at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING 1",
                (before, limit),
            )
            return len(rows)
