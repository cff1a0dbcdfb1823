"""Links between memories on SQLite (weave, consolidation), which explore and ripple follow."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from ...types import Link
from ..base import canonical_links
from .faults import translating
from .timeline import SqliteTimeline

_SQL_BATCH = 500  # stays under SQLite's host-parameter limit


@translating(lambda store: (store.database.path, store.database.busy_timeout_ms))
class SqliteLinks(SqliteTimeline):
    """The link methods of :class:`~memorylayer.store.sqlite.store.SqliteStore` (its base class)."""

    def put_links(self, account: str, scope: str, links: Sequence[Link], at: int) -> int:
        written = 0
        with self.transaction() as conn:
            for link in canonical_links(links):
                # Both ends must be memories of this account's scope: a link never crosses either.
                cursor = conn.execute(
                    "INSERT INTO memory_links (account, scope, source_id, target_id, kind, weight, label, created_at)"
                    " SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM memories"
                    " WHERE id IN (?, ?) AND +account = ? AND +scope = ?) = 2"
                    " ON CONFLICT (source_id, target_id, kind) DO UPDATE SET weight = excluded.weight,"
                    " label = excluded.label",
                    (
                        account,
                        scope,
                        link.source,
                        link.target,
                        link.kind,
                        link.weight,
                        link.label,
                        at,
                        link.source,
                        link.target,
                        account,
                        scope,
                    ),
                )
                written += cursor.rowcount
        return written

    def links_of(
        self, account: str, memory_ids: Sequence[str], kinds: Sequence[str] | None = None
    ) -> builtins.list[Link]:
        found: builtins.list[Link] = []
        kind_filter = "" if kinds is None else f" AND kind IN ({','.join('?' * len(kinds))})"
        unique = builtins.list(dict.fromkeys(memory_ids))
        for start in range(0, len(unique), _SQL_BATCH):
            chunk = unique[start : start + _SQL_BATCH]
            marks = ",".join("?" * len(chunk))
            for column in ("source_id", "target_id"):
                rows = self._conn.execute(
                    "SELECT source_id, target_id, kind, weight, label FROM memory_links"
                    f" WHERE {column} IN ({marks}) AND account = ?{kind_filter}",
                    (*chunk, account, *(kinds or ())),
                )
                found.extend(Link(r[0], r[1], r[2], float(r[3]), r[4]) for r in rows)
        return builtins.list(dict.fromkeys(found))  # a link between two of the ids is read from both ends

    def drop_links(self, account: str, scope: str, kinds: Sequence[str]) -> int:
        if not kinds:
            return 0
        with self.transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM memory_links WHERE account = ? AND scope = ? AND kind IN ({','.join('?' * len(kinds))})",
                (account, scope, *kinds),
            )
            return cursor.rowcount

    def count_links(self, account: str, scope: str) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT kind, count(*) FROM memory_links WHERE account = ? AND scope = ? GROUP BY kind", (account, scope)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def supersessions(self, account: str, scope: str) -> builtins.list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT superseded_by, id FROM memories WHERE account = ? AND scope = ? AND superseded_by IS NOT NULL"
            " ORDER BY rowid",
            (account, scope),
        )
        return [(str(r[0]), str(r[1])) for r in rows]
