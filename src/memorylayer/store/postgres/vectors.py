"""Cosine top-k with pgvector: one partial HNSW index per embedding model, nothing held in the process.

Every replica asks the database, so a write committed anywhere is in the next search, and a replica
starts with nothing to load. A scope small enough for an exact scan is scanned exactly (the planner
picks the scope's b-tree); a large one is searched through HNSW with iterative scans, which keep
walking the graph until ``k`` rows of the scope are found.
"""

from __future__ import annotations

import numpy as np
from psycopg import sql

from .bulk import hnsw_index_sql
from .db import Database
from .store import PostgresStore, _vector

#: Candidates HNSW keeps while searching (pgvector's default is 40): recall over speed. Measured on a
#: hard synthetic 100,000-vector scope (docs/benchmarks.md): top-10 overlap with the exact scan 0.30 at
#: 100, 0.73 at 400 for 2 ms more. An operator raises it with ``-c hnsw.ef_search=N`` in the URL's options.
EF_SEARCH = 400
#: The largest ``hnsw.ef_search`` pgvector accepts; iterative scans find more rows than it when asked.
EF_SEARCH_MAX = 1000


def _configured_ef_search(database: Database) -> int:
    """The ``hnsw.ef_search`` the connection was given (the URL's ``options``), or 0 when none was."""
    row = database.one("SELECT current_setting('hnsw.ef_search', true)")
    try:
        return int(row[0]) if row and row[0] else 0
    except ValueError:
        return 0


class PostgresVectorIndex:
    """Implements :class:`memorylayer.store.base.VectorIndex` with pgvector."""

    def __init__(self, store: PostgresStore, database: Database, model_id: str, dimensions: int) -> None:
        self._store = store
        self._db = database
        self.model_id = model_id
        self._dimensions = int(dimensions)
        self._typed = sql.SQL("embedding::vector({})").format(sql.Literal(self._dimensions))
        self._ensure_index()
        row = self._db.one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        version = tuple(int(part) for part in str(row[0] if row else "0").split(".")[:2] if part.isdigit())
        # pgvector 0.8 added iterative scans; before it, HNSW returns at most ef_search rows of the scope.
        self._iterative = version >= (0, 8)
        self.ef_search = min(EF_SEARCH_MAX, max(EF_SEARCH, _configured_ef_search(database)))

    def _ensure_index(self) -> None:
        with self._db.transaction():
            # Replicas starting together build it once: the writers' lock is held.
            self._db.execute(hnsw_index_sql(self.model_id, self._dimensions))

    def search(
        self, account: str, scope: str, query: np.ndarray, k: int, *, exact: bool = False
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the ``k`` nearest live memories, nearest first.

        ``exact`` scans every row of the scope instead of walking the HNSW graph (what
        bench/backends.py measures the graph's recall against).
        """
        if k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32)
        statement = sql.SQL(
            "SELECT memory_rowid, 1 - ({typed} <=> %s::vector({dims})) AS cosine FROM memory_vectors"
            " WHERE model = {model} AND account = %s AND scope = %s AND live"
            " ORDER BY {typed} <=> %s::vector({dims}) LIMIT %s"
        ).format(typed=self._typed, dims=sql.Literal(self._dimensions), model=sql.Literal(self.model_id))
        with self._db.connection() as conn, conn.transaction():
            # SET LOCAL lasts for this transaction only, so pooled connections keep their defaults.
            conn.execute(f"SET LOCAL hnsw.ef_search = {min(EF_SEARCH_MAX, max(self.ef_search, int(k)))}")
            if exact:
                conn.execute("SET LOCAL enable_indexscan = off")
            elif self._iterative:
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = conn.execute(statement, (vector, account, scope, vector, int(k))).fetchall()
        # Iterative scans may return rows slightly out of order: sort by the exact cosine.
        found = sorted(((int(r[0]), float(r[1])) for r in rows), key=lambda item: (-item[1], item[0]))
        return found[:k]

    def search_many(
        self, account: str, scope: str, queries: np.ndarray, k: int, *, exact: bool = False
    ) -> list[list[tuple[int, float]]]:
        """:meth:`search` for each row of ``queries``."""
        return [self.search(account, scope, query, k, exact=exact) for query in queries]

    def vectors(self, account: str, scope: str, rowids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those ``rowids`` the scope holds live."""
        if not rowids:
            return {}
        # Binary: every search reads ~150 of these (neighbours, keyword-only candidates), and parsing
        # them from text cost 9 ms of a 10k search against 1 ms (docs/benchmarks.md).
        rows = self._db.execute(
            "SELECT memory_rowid, embedding FROM memory_vectors WHERE memory_rowid = ANY(%s::bigint[])"
            " AND model = %s AND account = %s AND scope = %s AND live",
            (list(rowids), self.model_id, account, scope),
            binary=True,
        )
        return {int(r[0]): _vector(r[1]) for r in rows}

    def forget(self, account: str | None = None) -> None:
        """Nothing to drop: no vector is held in the process."""
