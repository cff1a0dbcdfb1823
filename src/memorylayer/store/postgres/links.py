"""Links between memories on PostgreSQL (weave, consolidation), which explore and ripple follow."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from ...types import Link
from ..base import canonical_links
from .timeline import PostgresTimeline


class PostgresLinks(PostgresTimeline):
    """The link methods of :class:`~memorylayer.store.postgres.store.PostgresStore` (its base class)."""

    def put_links(self, account: str, scope: str, links: Sequence[Link], at: int) -> int:
        links = canonical_links(links)
        if not links:
            return 0
        with self.transaction():
            # One statement for all: both ends must be memories of this account's scope.
            rows = self._run(
                "INSERT INTO memory_links (account, scope, source_id, target_id, kind, weight, label, created_at)"
                " SELECT %s, %s, l.s, l.t, l.k, l.w, l.l, %s"
                " FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[]) AS l(s, t, k, w, l)"
                " WHERE (SELECT count(*) FROM memories m WHERE m.id IN (l.s, l.t) AND m.account = %s"
                " AND m.scope = %s) = 2"
                " ON CONFLICT (source_id, target_id, kind) DO UPDATE SET weight = excluded.weight,"
                " label = excluded.label RETURNING 1",
                (
                    account,
                    scope,
                    at,
                    [x.source for x in links],
                    [x.target for x in links],
                    [x.kind for x in links],
                    [x.weight for x in links],
                    [x.label for x in links],
                    account,
                    scope,
                ),
            )
            return len(rows)

    def links_of(
        self, account: str, memory_ids: Sequence[str], kinds: Sequence[str] | None = None
    ) -> builtins.list[Link]:
        kind_filter = "" if kinds is None else " AND kind = ANY(%s::text[])"
        params: tuple[Any, ...] = (list(memory_ids), list(memory_ids), account) + (
            () if kinds is None else (list(kinds),)
        )
        rows = self._run(
            "SELECT source_id, target_id, kind, weight, label FROM memory_links"
            f" WHERE (source_id = ANY(%s::text[]) OR target_id = ANY(%s::text[])) AND account = %s{kind_filter}"
            " ORDER BY source_id, target_id, kind",
            params,
        )
        return [Link(r[0], r[1], r[2], float(r[3]), r[4]) for r in rows]

    def drop_links(self, account: str, scope: str, kinds: Sequence[str]) -> int:
        with self.transaction():
            rows = self._run(
                "DELETE FROM memory_links WHERE account = %s AND scope = %s AND kind = ANY(%s::text[]) RETURNING 1",
                (account, scope, list(kinds)),
            )
            return len(rows)

    def count_links(self, account: str, scope: str) -> dict[str, int]:
        rows = self._run(
            "SELECT kind, count(*) FROM memory_links WHERE account = %s AND scope = %s GROUP BY kind", (account, scope)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def supersessions(self, account: str, scope: str) -> builtins.list[tuple[str, str]]:
        rows = self._run(
            "SELECT superseded_by, id FROM memories WHERE account = %s AND scope = %s AND superseded_by IS NOT NULL"
            " ORDER BY rowid",
            (account, scope),
        )
        return [(str(r[0]), str(r[1])) for r in rows]
