"""The memory store on PostgreSQL: rows as in SQLite, vectors as pgvector columns, BM25 over postings in SQL."""

from __future__ import annotations

import builtins
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
from psycopg import errors as pg

from ...errors import Conflict
from ...types import MemoryRecord, Namespace, now_ms
from ..base import ListQuery, RankFields, StoredVector
from ..rows import INSERT_COLUMNS, insert_values
from .db import Database, Row
from .links import PostgresLinks
from .rows import COLUMNS as _COLUMNS
from .rows import FROM as _FROM
from .rows import LIVE as _LIVE
from .rows import record_of as _record

_ORDER_COLUMNS = {"updated_at", "created_at", "importance", "last_recalled_at", "expires_at"}
_NULLABLE_ORDER = {"last_recalled_at", "expires_at"}
#: FTS5's BM25 constants (sqlite.org/fts5.html#the_bm25_function), so scores match the SQLite backend.
BM25_K1, BM25_B = 1.2, 0.75


@contextmanager
def _unique_key(record: MemoryRecord) -> Iterator[None]:
    """Report the live-key (or id) uniqueness the schema enforces as the error tree's Conflict."""
    try:
        yield
    except pg.UniqueViolation as exc:
        constraint = exc.diag.constraint_name or ""
        if constraint == "memories_id_key":
            raise Conflict(f"memory {record.id} already exists") from exc
        if constraint == "memories_live_key":
            raise Conflict(f"a live memory already holds key {record.key!r} in scope {record.scope!r}") from exc
        raise


def _vector(vector: Any) -> np.ndarray:
    """float32 from a NumPy array, or from the ``pgvector.Vector`` a read returns."""
    if hasattr(vector, "to_numpy"):
        vector = vector.to_numpy()
    return np.asarray(vector, dtype=np.float32)


class PostgresStore(PostgresLinks):
    """Implements :class:`memorylayer.store.Store` on one PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def _run(self, query: str, params: Sequence[Any] | None = None) -> list[Row]:
        return self.database.execute(query, params)

    # -- the lexical index ---------------------------------------------------------------------
    def _index_terms(self, rowid: int, account: str, scope: str, terms: Sequence[str]) -> None:
        # FTS5 (unicode61) sees the terms joined by spaces: its tokens are the whitespace-separated words.
        tokens = " ".join(terms).split()
        counts = Counter(tokens)
        # One round trip for both tables (a data-modifying WITH): writes are bound by round trips.
        self._run(
            "WITH terms AS (INSERT INTO memory_terms (memory_rowid, terms, length) VALUES (%s, %s, %s))"
            " INSERT INTO memory_postings (account, scope, term, memory_rowid, tf)"
            " SELECT %s, %s, t, %s, n FROM unnest(%s::text[], %s::int[]) AS u(t, n)",
            (rowid, " ".join(terms), len(tokens), account, scope, rowid, list(counts), list(counts.values())),
        )
        self._count(1, len(tokens), counts, +1)

    def _count(self, documents: int, tokens: int, terms: Iterable[str], sign: int) -> None:
        pending = self._statistics()
        pending["documents"] += documents
        pending["tokens"] += tokens
        for term in terms:
            pending["terms"][term] = pending["terms"].get(term, 0) + sign
        self.database.before_commit(self._flush_statistics)

    def _statistics(self) -> dict[str, Any]:
        """The BM25 statistics this transaction changed, written once before it commits."""
        scratch = self.database.pending()
        if "bm25" not in scratch:
            scratch["bm25"] = {"documents": 0, "tokens": 0, "terms": {}}
        stats: dict[str, Any] = scratch["bm25"]
        return stats

    def _flush_statistics(self) -> None:
        pending = self._statistics()
        self.database.pending().pop("bm25", None)
        changed = {term: delta for term, delta in pending["terms"].items() if delta}
        if changed:
            self._run(
                "INSERT INTO term_documents (term, documents)"
                " SELECT t, d FROM unnest(%s::text[], %s::bigint[]) AS u(t, d)"
                " ON CONFLICT (term) DO UPDATE SET documents = term_documents.documents + excluded.documents",
                (list(changed), list(changed.values())),
            )
        if pending["documents"] or pending["tokens"]:
            self._run(
                "UPDATE counters SET value = value + CASE name WHEN 'documents' THEN %s ELSE %s END"
                " WHERE name IN ('documents', 'tokens')",
                (pending["documents"], pending["tokens"]),
            )

    def _unindex_terms(self, rowid: int) -> None:
        row = self.database.one("DELETE FROM memory_terms WHERE memory_rowid = %s RETURNING length", (rowid,))
        if row is None:
            return
        gone = [r[0] for r in self._run("DELETE FROM memory_postings WHERE memory_rowid = %s RETURNING term", (rowid,))]
        self._count(-1, -int(row[0]), gone, -1)

    # -- writes ------------------------------------------------------------------------------
    def insert(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str]) -> int:
        with self.database.transaction():
            self._touch_scope_once(record.account, record.scope)
            with self.database.savepoint(), _unique_key(record):
                return self._insert(record, vector, terms)

    def _touch_scope_once(self, account: str, scope: str) -> None:
        """:meth:`touch_scope`, once per transaction and scope (a batch of writes to one scope)."""
        touched: set[tuple[str, str]] = self.database.pending().setdefault("touched_scopes", set())
        if (account, scope) not in touched:
            self.touch_scope(account, scope)
            touched.add((account, scope))

    def _insert(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str]) -> int:
        # The row number is also its change sequence number: one nextval, read back by RETURNING.
        values = insert_values(0, record)
        (row,) = self._run(
            f"INSERT INTO memories ({INSERT_COLUMNS})"
            " VALUES (nextval('memory_seq'), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " currval('memory_seq'), %s, %s, %s) RETURNING rowid",
            (*values[1:16], *values[17:]),  # all but the row and sequence numbers, which nextval gives
        )
        rowid = int(row[0])
        if vector is not None and record.model:
            self._run(
                "INSERT INTO memory_vectors (memory_rowid, account, scope, live, model, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (rowid, record.account, record.scope, record.superseded_by is None, record.model, _vector(vector)),
            )
        self._index_terms(rowid, record.account, record.scope, terms)
        return rowid

    def insert_many(
        self, records: Sequence[MemoryRecord], vectors: Sequence[np.ndarray | None], terms: Sequence[Sequence[str]]
    ) -> list[int]:
        from .bulk import insert_many

        return insert_many(self, records, vectors, terms)

    def replace(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str] | None) -> None:
        with self.database.savepoint(), _unique_key(record):
            row = self.database.one(
                "UPDATE memories SET value = %s, metadata = %s, importance = %s, updated_at = %s, content_hash = %s,"
                " key = %s, source = %s, superseded_by = %s, expires_at = %s, valid_from = %s, valid_to = %s,"
                " seq = nextval('memory_seq')"
                " WHERE id = %s AND account = %s RETURNING rowid, scope",
                (
                    record.value,
                    json.dumps(record.metadata, ensure_ascii=False),
                    record.importance,
                    record.updated_at,
                    record.content_hash,
                    record.key,
                    record.source,
                    record.superseded_by,
                    record.expires_at,
                    record.valid_from,
                    record.valid_to,
                    record.id,
                    record.account,
                ),
            )
            if row is None:
                return
            rowid, scope = int(row[0]), str(row[1])
            live = record.superseded_by is None
            if vector is not None and record.model:
                self._run(
                    "INSERT INTO memory_vectors (memory_rowid, account, scope, live, model, embedding)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (memory_rowid) DO UPDATE"
                    " SET live = excluded.live, model = excluded.model, embedding = excluded.embedding",
                    (rowid, record.account, scope, live, record.model, _vector(vector)),
                )
            else:
                self._run("UPDATE memory_vectors SET live = %s WHERE memory_rowid = %s", (live, rowid))
            if terms is not None:
                self._unindex_terms(rowid)
                self._index_terms(rowid, record.account, scope, terms)

    def supersede(self, account: str, memory_id: str, by_id: str, valid_to: int | None = None) -> None:
        with self.transaction():
            row = self.database.one(
                "UPDATE memories SET superseded_by = %s, valid_to = %s, seq = nextval('memory_seq')"
                " WHERE id = %s AND account = %s RETURNING rowid",
                (by_id, valid_to, memory_id, account),
            )
            if row is not None:
                self._run("UPDATE memory_vectors SET live = false WHERE memory_rowid = %s", (row[0],))

    def delete(self, account: str, memory_ids: Sequence[str], *, keep_history: bool = False) -> int:
        if not memory_ids:
            return 0
        with self.transaction():
            rows = self._run(
                "SELECT rowid, scope, id FROM memories WHERE id = ANY(%s::text[]) AND account = %s ORDER BY rowid",
                (list(memory_ids), account),
            )
            for rowid, scope, memory_id in rows:
                self._unindex_terms(rowid)
                self._run("DELETE FROM memories WHERE rowid = %s", (rowid,))
                self._run(
                    "INSERT INTO memory_tombstones (seq, account, scope, memory_rowid)"
                    " VALUES (nextval('memory_seq'), %s, %s, %s)",
                    (account, scope, rowid),
                )
                if not keep_history:
                    self._run("DELETE FROM memory_history WHERE memory_id = %s", (memory_id,))
            return len(rows)

    def delete_scope(self, account: str, scope: str | None) -> int:
        with self.transaction():
            if scope is None:
                ids = [r[0] for r in self._run("SELECT id FROM memories WHERE account = %s", (account,))]
            else:
                ids = [
                    r[0]
                    for r in self._run("SELECT id FROM memories WHERE account = %s AND scope = %s", (account, scope))
                ]
            count = self.delete(account, ids)
            touched = self.database.pending().get("touched_scopes", set())
            touched -= {t for t in touched if t[0] == account and (scope is None or t[1] == scope)}
            if scope is None:
                self._run("DELETE FROM memory_history WHERE account = %s", (account,))
                self._run("DELETE FROM scopes WHERE account = %s", (account,))
            else:
                self._run("DELETE FROM memory_history WHERE account = %s AND scope = %s", (account, scope))
                self._run("DELETE FROM scopes WHERE account = %s AND scope = %s", (account, scope))
            return count

    def touch_scope(self, account: str, scope: str) -> None:
        self._run(
            "INSERT INTO scopes (account, scope, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (account, scope, now_ms()),
        )

    def set_vectors(self, items: Iterable[tuple[int, np.ndarray]], model_id: str) -> None:
        with self.transaction():
            for rowid, vector in items:
                # A memory deleted since iter_for_reindex listed it is skipped, not an error.
                row = self.database.one(
                    "UPDATE memories SET seq = nextval('memory_seq') WHERE rowid = %s"
                    " RETURNING account, scope, superseded_by IS NULL",
                    (rowid,),
                )
                if row is None:
                    continue
                self._run(
                    "INSERT INTO memory_vectors (memory_rowid, account, scope, live, model, embedding)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (memory_rowid) DO UPDATE"
                    " SET model = excluded.model, embedding = excluded.embedding",
                    (rowid, row[0], row[1], row[2], model_id, _vector(vector)),
                )

    # -- reads -------------------------------------------------------------------------------
    def get(self, account: str, memory_id: str) -> MemoryRecord | None:
        row = self.database.one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.id = %s AND m.account = %s"
            " AND (m.expires_at IS NULL OR m.expires_at > %s)",
            (memory_id, account, now_ms()),
        )
        return _record(row) if row else None

    def rank_fields(self, account: str, rowids: Sequence[int]) -> dict[int, RankFields]:
        if not rowids:
            return {}
        rows = self._run(
            "SELECT m.rowid, m.id, m.source, m.importance, m.created_at, m.updated_at, m.recall_count FROM memories m"
            f" WHERE m.rowid = ANY(%s::bigint[]) AND m.account = %s AND {_LIVE}",
            (list(rowids), account, now_ms()),
        )
        return {row[0]: RankFields(*row) for row in rows}

    def get_many_by_rowid(self, account: str, rowids: Sequence[int]) -> dict[int, MemoryRecord]:
        if not rowids:
            return {}
        rows = self._run(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.rowid = ANY(%s::bigint[]) AND m.account = %s AND {_LIVE}",
            (list(rowids), account, now_ms()),
        )
        return {row["rowid"]: _record(row) for row in rows}

    def get_by_key(self, account: str, scope: str, key: str) -> MemoryRecord | None:
        row = self.database.one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = %s AND m.scope = %s AND m.key = %s AND {_LIVE}",
            (account, scope, key, now_ms()),
        )
        return _record(row) if row else None

    def ids_by_key(self, account: str, scope: str, key: str) -> list[str]:
        rows = self._run(
            "SELECT id FROM memories WHERE account = %s AND scope = %s AND key = %s ORDER BY rowid",
            (account, scope, key),
        )
        return [r[0] for r in rows]

    def find_by_hashes(self, account: str, scope: str, hashes: Sequence[str]) -> dict[str, MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        unique = list(dict.fromkeys(hashes))
        if not unique:
            return found
        for row in self._run(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = %s AND m.scope = %s"
            f" AND m.content_hash = ANY(%s::text[]) AND {_LIVE} ORDER BY m.key IS NULL, m.rowid",
            (account, scope, unique, now_ms()),
        ):
            found.setdefault(row["content_hash"], _record(row))
        return found

    def find_by_slot(self, account: str, scope: str, slot: str) -> list[MemoryRecord]:
        # metadata is JSON text (the same bytes as SQLite keeps); the scope's rows are few enough to parse here.
        rows = self._run(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = %s AND m.scope = %s AND m.key IS NULL"
            f" AND {_LIVE} AND m.metadata::jsonb ->> 'slot' = %s ORDER BY m.rowid",
            (account, scope, now_ms(), slot),
        )
        return [_record(row) for row in rows]

    def _where(self, query: ListQuery) -> tuple[str, list[Any]]:
        clauses = ["m.account = %s", _LIVE]
        params: list[Any] = [query.account, now_ms()]
        if query.scope is not None:
            clauses.append("m.scope = %s")
            params.append(query.scope)
        if query.source is not None:
            clauses.append("m.source = %s")
            params.append(query.source)
        if query.search:
            # SQLite's LIKE ignores the case of ASCII letters only; ILIKE is the closest.
            pattern = _like(query.search)
            clauses.append("(m.value ILIKE %s OR coalesce(m.key, '') ILIKE %s)")
            params.extend([pattern, pattern])
        if query.key_search:
            clauses.append("m.key IS NOT NULL AND m.key ILIKE %s")
            params.append(_like(query.key_search))
        if query.created_after is not None:
            clauses.append("m.created_at > %s")
            params.append(query.created_after)
        if query.created_before is not None:
            clauses.append("m.created_at < %s")
            params.append(query.created_before)
        if query.expiring:
            clauses.append("m.expires_at IS NOT NULL")
        return " AND ".join(clauses), params

    def list(self, query: ListQuery) -> list[MemoryRecord]:
        if query.order_by not in _ORDER_COLUMNS or query.order_dir not in ("asc", "desc"):
            raise ValueError("bad order")
        where, params = self._where(query)
        column, cmp, direction = f"m.{query.order_by}", (">" if query.order_dir == "asc" else "<"), query.order_dir
        nullable = query.order_by in _NULLABLE_ORDER
        if query.after is not None:
            value, last_id = query.after
            if value is None:  # already inside the NULLS LAST tail
                where += f" AND {column} IS NULL AND m.id {cmp} %s"
                params.append(last_id)
            else:
                tail = f" OR {column} IS NULL" if nullable else ""
                where += f" AND ({column} {cmp} %s OR ({column} = %s AND m.id {cmp} %s){tail})"
                params.extend([value, value, last_id])
        nulls = " NULLS LAST" if nullable else ""
        # COLLATE "C" orders ids by bytes, as SQLite does, whatever the database's collation.
        sql = (
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where}"
            f' ORDER BY {column} {direction}{nulls}, m.id COLLATE "C" {direction} LIMIT %s'
        )
        return [_record(r) for r in self._run(sql, (*params, query.limit))]

    def count(self, query: ListQuery) -> int:
        where, params = self._where(query)
        row = self.database.one(f"SELECT count(*) FROM memories m WHERE {where}", params)
        return int(row[0]) if row else 0

    def count_live(self, accounts: Sequence[str], scope: str | None = None) -> int:
        if not accounts:
            return 0
        sql = f"SELECT count(*) FROM memories m WHERE m.account = ANY(%s::text[]) AND {_LIVE}"
        params: list[Any] = [list(accounts), now_ms()]
        if scope is not None:
            sql += " AND m.scope = %s"
            params.append(scope)
        row = self.database.one(sql, params)
        return int(row[0]) if row else 0

    def namespaces(self, account: str) -> builtins.list[Namespace]:
        rows = self._run(
            "SELECT m.scope, count(*) AS n, max(m.updated_at) AS last FROM memories m"
            f' WHERE m.account = %s AND {_LIVE} GROUP BY m.scope ORDER BY m.scope COLLATE "C"',
            (account, now_ms()),
        )
        return [Namespace(scope=r["scope"], count=int(r["n"]), last_updated=r["last"]) for r in rows]

    def scope_exists(self, account: str, scope: str) -> bool:
        return self.database.one("SELECT 1 FROM scopes WHERE account = %s AND scope = %s", (account, scope)) is not None

    def scopes(self, account: str) -> builtins.list[str]:
        rows = self._run('SELECT scope FROM scopes WHERE account = %s ORDER BY scope COLLATE "C"', (account,))
        return [r[0] for r in rows]

    def lexical(self, account: str, scope: str, terms: Sequence[str], limit: int) -> builtins.list[tuple[int, float]]:
        if not terms:
            return []
        # FTS5's bm25(): idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6, over every indexed memory;
        # each matching query term adds idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl)).
        # In float8, as FTS5 computes it, and once per term (MATERIALIZED): inlined, the numeric ln()
        # ran for every posting and cost half of a 10k search's BM25 (docs/benchmarks.md).
        rows = self._run(
            "WITH totals AS (SELECT max(value) FILTER (WHERE name = 'documents') AS n,"
            " max(value) FILTER (WHERE name = 'tokens') AS tokens FROM counters),"
            " q AS MATERIALIZED (SELECT u.term, greatest(ln((t.n - coalesce(d.documents, 0) + 0.5::float8)"
            " / (coalesce(d.documents, 0) + 0.5::float8)), 1e-6::float8) AS idf"
            " FROM unnest(%s::text[]) AS u(term) CROSS JOIN totals t LEFT JOIN term_documents d ON d.term = u.term)"
            " SELECT p.memory_rowid, sum(q.idf * p.tf * %s / (p.tf + %s * (1 - %s + %s * mt.length"
            " / greatest(t.tokens::float8 / greatest(t.n, 1), 1e-9)))) AS score"
            " FROM q JOIN memory_postings p ON p.account = %s AND p.scope = %s AND p.term = q.term"
            " JOIN memory_terms mt ON mt.memory_rowid = p.memory_rowid"
            f" JOIN memories m ON m.rowid = p.memory_rowid AND {_LIVE}"
            " CROSS JOIN totals t"
            " GROUP BY p.memory_rowid ORDER BY score DESC, p.memory_rowid LIMIT %s",
            (list(terms), BM25_K1 + 1, BM25_K1, BM25_B, BM25_B, account, scope, now_ms(), limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        if not terms:
            return 0, {}
        total = self.database.one("SELECT value FROM counters WHERE name = 'documents'")
        rows = self._run(
            "SELECT term, documents FROM term_documents WHERE term = ANY(%s::text[])", (list(dict.fromkeys(terms)),)
        )
        known = {r[0]: int(r[1]) for r in rows}
        documents = int(total[0]) if total else 0
        if self.database.in_transaction():  # this transaction's own writes, not yet flushed
            pending = self._statistics()
            documents += pending["documents"]
            for term, delta in pending["terms"].items():
                known[term] = known.get(term, 0) + delta
        return documents, {term: known.get(term, 0) for term in terms}

    def terms_for(self, rowids: Sequence[int]) -> dict[int, set[str]]:
        if not rowids:
            return {}
        rows = self._run(
            "SELECT memory_rowid, terms FROM memory_terms WHERE memory_rowid = ANY(%s::bigint[])", (list(rowids),)
        )
        return {int(r[0]): set(r[1].split()) for r in rows}

    def vector_changes(
        self, account: str, scope: str, since: int, model: str
    ) -> tuple[builtins.list[StoredVector], int]:
        changes: list[tuple[int, StoredVector]] = []
        with self.database.connection():
            for row in self._run(
                "SELECT m.rowid, m.seq, m.superseded_by IS NULL AS live, v.embedding FROM memories m"
                " LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid AND v.model = %s"
                " WHERE m.account = %s AND m.scope = %s AND m.seq > %s",
                (model, account, scope, since),
            ):
                vector = _vector(row[3]) if (row[2] and row[3] is not None) else None
                changes.append((int(row[1]), StoredVector(int(row[0]), vector)))
            for row in self._run(
                "SELECT memory_rowid, seq FROM memory_tombstones WHERE account = %s AND scope = %s AND seq > %s",
                (account, scope, since),
            ):
                changes.append((int(row[1]), StoredVector(int(row[0]), None)))
        changes.sort(key=lambda item: item[0])
        high = max([since, *(seq for seq, _ in changes)])
        return [change for _, change in changes], high

    def iter_records(self, account: str, scope: str | None = None) -> Iterator[MemoryRecord]:
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = %s AND {_LIVE}"
        params: list[Any] = [account, now_ms()]
        if scope is not None:
            sql += " AND m.scope = %s"
            params.append(scope)
        for row in self._run(sql + " ORDER BY m.rowid", params):
            yield _record(row)

    def vectors_of(self, account: str, memory_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        if not memory_ids:
            return {}
        rows = self._run(
            "SELECT m.id, v.model, v.embedding FROM memories m JOIN memory_vectors v ON v.memory_rowid = m.rowid"
            " WHERE m.account = %s AND m.id = ANY(%s::text[])",
            (account, list(memory_ids)),
        )
        return {str(r[0]): (str(r[1]), _vector(r[2])) for r in rows}

    def iter_for_reindex(self, model_id: str) -> Iterator[tuple[int, str]]:
        rows = self._run(
            "SELECT m.rowid, m.value FROM memories m LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid"
            " WHERE v.model IS NULL OR v.model != %s ORDER BY m.rowid",
            (model_id,),
        )
        yield from ((int(r[0]), str(r[1])) for r in rows)

    def models(self) -> dict[str, int]:
        rows = self._run("SELECT model, count(*) FROM memory_vectors GROUP BY model")
        return {r[0]: int(r[1]) for r in rows}


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (backslash is LIKE's escape)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
