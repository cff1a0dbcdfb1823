"""The embedded SQLite backend: one WAL file, FTS5 for BM25, vectors as float32 blobs."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import numpy as np

from ...errors import Conflict
from ...types import MemoryRecord, Namespace, now_ms
from ..base import ListQuery, RankFields, StoredVector
from ..rows import INSERT_COLUMNS, insert_values
from .db import Database
from .faults import translating
from .links import SqliteLinks
from .rows import COLUMNS as _COLUMNS
from .rows import FROM as _FROM
from .rows import LIVE as _LIVE
from .rows import record_of as _record

_ORDER_COLUMNS = {"updated_at", "created_at", "importance", "last_recalled_at", "expires_at"}
_NULLABLE_ORDER = {"last_recalled_at", "expires_at"}
_SQL_BATCH = 500  # stays under SQLite's host-parameter limit
T = TypeVar("T")


def _in_batches(items: Sequence[T]) -> Iterator[tuple[list[T], str]]:
    """``items`` in slices small enough for one ``IN (...)``, each with its ``?,?,…`` placeholders."""
    for start in range(0, len(items), _SQL_BATCH):
        chunk = list(items[start : start + _SQL_BATCH])
        yield chunk, ",".join("?" * len(chunk))


@contextmanager
def _unique_key(record: MemoryRecord) -> Iterator[None]:
    """Report the live-key (or id) uniqueness the schema enforces as the error tree's Conflict."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "memories.id" in str(exc):
            raise Conflict(f"memory {record.id} already exists") from exc
        if "memories.account, memories.scope, memories.key" in str(exc):
            raise Conflict(f"a live memory already holds key {record.key!r} in scope {record.scope!r}") from exc
        raise


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


@translating(lambda store: (store.database.path, store.database.busy_timeout_ms))
class SqliteStore(SqliteLinks):
    """Implements :class:`memorylayer.store.Store` on one SQLite file."""

    def __init__(self, database: Database) -> None:
        self.database = database  # migrated by SqliteBackend, which owns and closes it
        self._term_cache: dict[str, tuple[int, int]] = {}  # term -> (documents holding it, seq when counted)

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.database.conn

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.transaction()

    def _next_seq(self) -> int:
        row = self._conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()
        return int(row[0])

    # -- writes ------------------------------------------------------------------------------
    def insert(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str]) -> int:
        with self.transaction() as conn, _unique_key(record):
            # The row number is the insert's sequence number: unlike SQLite's own choice (the largest
            # plus one) it is never handed out again after a delete, so a row number read earlier
            # (by reindex, or a vector index) can never name another memory. Every earlier insert
            # took a sequence number too, so it is above every row number a file already has.
            rowid = self._next_seq()
            conn.execute(
                f"INSERT INTO memories ({INSERT_COLUMNS}) VALUES ({', '.join('?' * 20)})",
                insert_values(rowid, record),
            )
            if vector is not None and record.model:
                conn.execute(
                    "INSERT INTO memory_vectors (memory_rowid, model, vector) VALUES (?, ?, ?)",
                    (rowid, record.model, _blob(vector)),
                )
            conn.execute("INSERT INTO memory_terms (rowid, terms) VALUES (?, ?)", (rowid, " ".join(terms)))
            conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'documents'")
            self.touch_scope(record.account, record.scope)
            return rowid

    def insert_many(
        self, records: Sequence[MemoryRecord], vectors: Sequence[np.ndarray | None], terms: Sequence[Sequence[str]]
    ) -> list[int]:
        # In-process statements cost microseconds: one transaction is what makes the bulk path fast here.
        with self.transaction():
            return [self.insert(r, v, t) for r, v, t in zip(records, vectors, terms, strict=True)]

    def replace(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str] | None) -> None:
        with self.transaction() as conn, _unique_key(record):
            row = conn.execute(
                "UPDATE memories SET value = ?, metadata = ?, importance = ?, updated_at = ?, content_hash = ?,"
                " key = ?, source = ?, superseded_by = ?, expires_at = ?, valid_from = ?, valid_to = ?, seq = ?"
                " WHERE id = ? AND +account = ? RETURNING rowid",
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
                    self._next_seq(),
                    record.id,
                    record.account,
                ),
            ).fetchone()
            if row is None:
                return
            rowid = row[0]
            if vector is not None and record.model:
                conn.execute(
                    "INSERT OR REPLACE INTO memory_vectors (memory_rowid, model, vector) VALUES (?, ?, ?)",
                    (rowid, record.model, _blob(vector)),
                )
            if terms is not None:
                conn.execute("DELETE FROM memory_terms WHERE rowid = ?", (rowid,))
                conn.execute("INSERT INTO memory_terms (rowid, terms) VALUES (?, ?)", (rowid, " ".join(terms)))

    def supersede(self, account: str, memory_id: str, by_id: str, valid_to: int | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE memories SET superseded_by = ?, valid_to = ?, seq = ? WHERE id = ? AND +account = ?",
                (by_id, valid_to, self._next_seq(), memory_id, account),
            )

    def delete(self, account: str, memory_ids: Sequence[str], *, keep_history: bool = False) -> int:
        deleted = 0
        with self.transaction() as conn:
            for chunk, marks in _in_batches(memory_ids):
                rows = conn.execute(
                    f"SELECT rowid, scope, id FROM memories WHERE id IN ({marks}) AND +account = ?",
                    (*chunk, account),
                ).fetchall()
                for rowid, scope, memory_id in rows:
                    conn.execute("DELETE FROM memory_terms WHERE rowid = ?", (rowid,))
                    conn.execute("DELETE FROM memories WHERE rowid = ?", (rowid,))
                    conn.execute(
                        "INSERT INTO memory_tombstones (seq, account, scope, memory_rowid) VALUES (?, ?, ?, ?)",
                        (self._next_seq(), account, scope, rowid),
                    )
                    if not keep_history:
                        conn.execute("DELETE FROM memory_history WHERE memory_id = ?", (memory_id,))
                deleted += len(rows)
            conn.execute("UPDATE counters SET value = value - ? WHERE name = 'documents'", (deleted,))
        return deleted

    def delete_scope(self, account: str, scope: str | None) -> int:
        with self.transaction() as conn:
            if scope is None:
                ids = [r[0] for r in conn.execute("SELECT id FROM memories WHERE account = ?", (account,))]
            else:
                ids = [
                    r[0]
                    for r in conn.execute("SELECT id FROM memories WHERE account = ? AND scope = ?", (account, scope))
                ]
            count = self.delete(account, ids)
            if scope is None:
                conn.execute("DELETE FROM memory_history WHERE account = ?", (account,))
                conn.execute("DELETE FROM scopes WHERE account = ?", (account,))
            else:
                conn.execute("DELETE FROM memory_history WHERE account = ? AND scope = ?", (account, scope))
                conn.execute("DELETE FROM scopes WHERE account = ? AND scope = ?", (account, scope))
            return count

    def touch_scope(self, account: str, scope: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO scopes (account, scope, created_at) VALUES (?, ?, ?)",
            (account, scope, now_ms()),
        )

    def set_vectors(self, items: Iterable[tuple[int, np.ndarray]], model_id: str) -> None:
        with self.transaction() as conn:
            for rowid, vector in items:
                # A memory deleted since iter_for_reindex listed it is skipped, not an error.
                if conn.execute("SELECT 1 FROM memories WHERE rowid = ?", (rowid,)).fetchone() is None:
                    continue
                conn.execute(
                    "INSERT OR REPLACE INTO memory_vectors (memory_rowid, model, vector) VALUES (?, ?, ?)",
                    (rowid, model_id, _blob(vector)),
                )
                conn.execute("UPDATE memories SET seq = ? WHERE rowid = ?", (self._next_seq(), rowid))

    # -- reads -------------------------------------------------------------------------------
    def get(self, account: str, memory_id: str) -> MemoryRecord | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.id = ? AND +m.account = ?"
            " AND (m.expires_at IS NULL OR m.expires_at > ?)",
            (memory_id, account, now_ms()),
        ).fetchone()
        return _record(row) if row else None

    def rank_fields(self, account: str, rowids: Sequence[int]) -> dict[int, RankFields]:
        found: dict[int, RankFields] = {}
        for chunk, marks in _in_batches(rowids):
            # "+account" keeps SQLite on the rowid lookups instead of scanning the account index.
            for row in self._conn.execute(
                "SELECT m.rowid, m.id, m.source, m.importance, m.created_at, m.updated_at, m.recall_count"
                f" FROM memories m WHERE m.rowid IN ({marks}) AND +m.account = ? AND {_LIVE}",
                (*chunk, account, now_ms()),
            ):
                found[row[0]] = RankFields(*row)
        return found

    def get_many_by_rowid(self, account: str, rowids: Sequence[int]) -> dict[int, MemoryRecord]:
        found: dict[int, MemoryRecord] = {}
        for chunk, marks in _in_batches(rowids):
            for row in self._conn.execute(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.rowid IN ({marks}) AND +m.account = ? AND {_LIVE}",
                (*chunk, account, now_ms()),
            ):
                found[row["rowid"]] = _record(row)
        return found

    def get_by_key(self, account: str, scope: str, key: str) -> MemoryRecord | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = ? AND m.scope = ? AND m.key = ? AND {_LIVE}",
            (account, scope, key, now_ms()),
        ).fetchone()
        return _record(row) if row else None

    def ids_by_key(self, account: str, scope: str, key: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT id FROM memories WHERE account = ? AND scope = ? AND key = ?", (account, scope, key)
        )
        return [r[0] for r in rows]

    def find_by_hashes(self, account: str, scope: str, hashes: Sequence[str]) -> dict[str, MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        unique = list(dict.fromkeys(hashes))
        for chunk, marks in _in_batches(unique):
            for row in self._conn.execute(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = ? AND m.scope = ? AND m.content_hash IN ({marks})"
                f" AND {_LIVE} ORDER BY m.key IS NULL, m.rowid",
                (account, scope, *chunk, now_ms()),
            ):
                found.setdefault(row["content_hash"], _record(row))
        return found

    def find_by_slot(self, account: str, scope: str, slot: str) -> list[MemoryRecord]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = ? AND m.scope = ? AND m.key IS NULL"
            f" AND {_LIVE} AND json_extract(m.metadata, '$.slot') = ? ORDER BY m.rowid",
            (account, scope, now_ms(), slot),
        )
        return [_record(row) for row in rows]

    def _where(self, query: ListQuery) -> tuple[str, list[Any]]:
        clauses = ["m.account = ?", _LIVE]
        params: list[Any] = [query.account, now_ms()]
        if query.scope is not None:
            clauses.append("m.scope = ?")
            params.append(query.scope)
        if query.source is not None:
            clauses.append("m.source = ?")
            params.append(query.source)
        if query.search:
            pattern = _like(query.search)
            clauses.append("(m.value LIKE ? ESCAPE '\\' OR coalesce(m.key, '') LIKE ? ESCAPE '\\')")
            params.extend([pattern, pattern])
        if query.key_search:
            clauses.append("m.key IS NOT NULL AND m.key LIKE ? ESCAPE '\\'")
            params.append(_like(query.key_search))
        if query.created_after is not None:
            clauses.append("m.created_at > ?")
            params.append(query.created_after)
        if query.created_before is not None:
            clauses.append("m.created_at < ?")
            params.append(query.created_before)
        if query.expiring:
            clauses.append("m.expires_at IS NOT NULL")
        return " AND ".join(clauses), params

    def list(self, query: ListQuery) -> list[MemoryRecord]:
        if query.order_by not in _ORDER_COLUMNS or query.order_dir not in ("asc", "desc"):
            raise ValueError("bad order")
        where, params = self._where(query)
        column, cmp, direction = f"m.{query.order_by}", (">" if query.order_dir == "asc" else "<"), query.order_dir
        # Only last_recalled_at can be NULL (sorted last). For the others, an ORDER BY without the
        # IS NULL term lets SQLite walk the (account, column, id) index and stop after one page,
        # instead of sorting the whole scope on every page.
        nullable = query.order_by in _NULLABLE_ORDER
        if query.after is not None:
            value, last_id = query.after
            if value is None:  # already inside the NULLS LAST tail
                where += f" AND {column} IS NULL AND m.id {cmp} ?"
                params.append(last_id)
            else:
                tail = f" OR {column} IS NULL" if nullable else ""
                where += f" AND ({column} {cmp} ? OR ({column} = ? AND m.id {cmp} ?){tail})"
                params.extend([value, value, last_id])
        nulls_last = f"{column} IS NULL, " if nullable else ""
        sql = (
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where}"
            f" ORDER BY {nulls_last}{column} {direction}, m.id {direction} LIMIT ?"
        )
        return [_record(r) for r in self._conn.execute(sql, (*params, query.limit))]

    def count(self, query: ListQuery) -> int:
        where, params = self._where(query)
        return int(self._conn.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0])

    def count_live(self, accounts: Sequence[str], scope: str | None = None) -> int:
        if not accounts:
            return 0
        marks = ",".join("?" * len(accounts))
        sql = f"SELECT count(*) FROM memories m WHERE m.account IN ({marks}) AND {_LIVE}"
        params: list[Any] = [*accounts, now_ms()]
        if scope is not None:
            sql += " AND m.scope = ?"
            params.append(scope)
        return int(self._conn.execute(sql, params).fetchone()[0])

    def namespaces(self, account: str) -> builtins.list[Namespace]:
        rows = self._conn.execute(
            "SELECT m.scope, count(*) AS n, max(m.updated_at) AS last FROM memories m"
            f" WHERE m.account = ? AND {_LIVE} GROUP BY m.scope ORDER BY m.scope",
            (account, now_ms()),
        )
        return [Namespace(scope=r["scope"], count=r["n"], last_updated=r["last"]) for r in rows]

    def scope_exists(self, account: str, scope: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM scopes WHERE account = ? AND scope = ?", (account, scope)).fetchone()
        return row is not None

    def scopes(self, account: str) -> builtins.list[str]:
        rows = self._conn.execute("SELECT scope FROM scopes WHERE account = ? ORDER BY scope", (account,))
        return [r[0] for r in rows]

    def lexical(self, account: str, scope: str, terms: Sequence[str], limit: int) -> builtins.list[tuple[int, float]]:
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self._conn.execute(
            "SELECT t.rowid, -bm25(memory_terms) AS score FROM memory_terms t"
            " JOIN memories m ON m.rowid = t.rowid"
            f" WHERE memory_terms MATCH ? AND m.account = ? AND m.scope = ? AND {_LIVE}"
            " ORDER BY bm25(memory_terms) LIMIT ?",
            (match, account, scope, now_ms(), limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        if not terms:
            return 0, {}
        counters = dict(self._conn.execute("SELECT name, value FROM counters WHERE name IN ('documents', 'seq')"))
        total, seq = int(counters["documents"]), int(counters["seq"])
        # fts5vocab counts a term's documents by reading its whole posting list (about 0.3 ms for a
        # term in 10% of 100k memories), so counts are cached while fewer writes than 1% of the
        # collection happened since (every write, from any process, moves the change sequence;
        # exact below 1,000 memories): IDF weights barely move within that. Counts an open
        # transaction's own writes show are not cached, as a rollback could undo them.
        tolerance = 0 if total < 1000 else total // 100
        cacheable = not self.database.has_pending_writes()
        found: dict[str, int] = {}
        for term in terms:
            cached = self._term_cache.get(term)
            if cached is not None and 0 <= seq - cached[1] <= tolerance:
                found[term] = cached[0]
                continue
            row = self._conn.execute("SELECT doc FROM memory_terms_vocab WHERE term = ?", (term,)).fetchone()
            found[term] = int(row[0]) if row is not None else 0
            if cacheable:
                if len(self._term_cache) > 50_000:
                    self._term_cache.clear()
                self._term_cache[term] = (found[term], seq)
        return total, found

    def terms_for(self, rowids: Sequence[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: every search reads this for each of ~250 candidates
        for chunk, marks in _in_batches(rowids):
            cursor.execute(f"SELECT rowid, terms FROM memory_terms WHERE rowid IN ({marks})", chunk)
            found.update((rowid, set(terms.split())) for rowid, terms in cursor)
        return found

    def vector_changes(
        self, account: str, scope: str, since: int, model: str
    ) -> tuple[builtins.list[StoredVector], int]:
        conn = self._conn
        changes: list[tuple[int, StoredVector]] = []
        for row in conn.execute(
            "SELECT m.rowid, m.seq, m.superseded_by IS NULL AS live, v.vector FROM memories m"
            " LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid AND v.model = ?"
            " WHERE m.account = ? AND m.scope = ? AND m.seq > ?",
            (model, account, scope, since),
        ):
            vector = np.frombuffer(row[3], dtype=np.float32) if (row[2] and row[3] is not None) else None
            changes.append((row[1], StoredVector(row[0], vector)))
        for row in conn.execute(
            "SELECT memory_rowid, seq FROM memory_tombstones WHERE account = ? AND scope = ? AND seq > ?",
            (account, scope, since),
        ):
            changes.append((row[1], StoredVector(row[0], None)))
        changes.sort(key=lambda item: item[0])
        high = max([since, *(seq for seq, _ in changes)])
        return [change for _, change in changes], high

    def database_instance(self) -> int:
        """The random number naming this database file (a derived index file records it)."""
        row = self._conn.execute("SELECT value FROM counters WHERE name = 'instance'").fetchone()
        return int(row[0]) if row else 0

    def vector_high_seq(self, account: str, scope: str) -> int:
        """The highest change sequence number ``scope`` has seen (memories and tombstones)."""
        row = self._conn.execute(
            "SELECT max(coalesce((SELECT max(seq) FROM memories WHERE account = ? AND scope = ?), 0),"
            " coalesce((SELECT max(seq) FROM memory_tombstones WHERE account = ? AND scope = ?), 0))",
            (account, scope, account, scope),
        ).fetchone()
        return int(row[0])

    def change_sequence(self) -> int:
        """The database's change sequence: every write of a memory, from any process, moves it."""
        return int(self._conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0])

    def changed_since(self, account: str, scope: str, since: int) -> int:
        """How many of ``scope``'s memories changed after sequence ``since`` (read from the scope/seq index)."""
        row = self._conn.execute(
            "SELECT count(*) FROM memories WHERE account = ? AND scope = ? AND seq > ?", (account, scope, since)
        ).fetchone()
        return int(row[0])

    def vector_anchors(self, account: str, scope: str, seq: int, limit: int = 16) -> builtins.list[tuple[str, int]]:
        """(id, seq) of ``scope``'s memories last written at or before ``seq``, latest first, and how many
        of its deletes happened by then (as ("", count), last).

        An index file records them with its sequence number: in the same history they only ever lose
        members, while a backup restored over the database whose history then went another way reaches
        the same sequence numbers with other memories and other deletes.
        """
        rows = self._conn.execute(
            "SELECT id, seq FROM memories WHERE account = ? AND scope = ? AND seq <= ? ORDER BY seq DESC LIMIT ?",
            (account, scope, seq, limit),
        ).fetchall()
        deletes = self._conn.execute(
            "SELECT count(*) FROM memory_tombstones WHERE account = ? AND scope = ? AND seq <= ?", (account, scope, seq)
        ).fetchone()[0]
        return [(str(r[0]), int(r[1])) for r in rows] + [("", int(deletes))]

    def live_vector_chunks(
        self, account: str, scope: str, model: str, dimensions: int, chunk: int = 8192
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rowids, float32 matrix) chunks of every live ``model`` vector of ``scope``, in rowid order.

        The bulk path of an index rebuild: one bytes join and one ``frombuffer`` per chunk instead of
        a Python object per row, so a million rows load in bounded memory.
        """
        cursor = self._conn.execute(
            "SELECT m.rowid, v.vector FROM memories m JOIN memory_vectors v ON v.memory_rowid = m.rowid AND v.model = ?"
            " WHERE m.account = ? AND m.scope = ? AND m.superseded_by IS NULL AND length(v.vector) = ?"
            " ORDER BY m.rowid",
            (model, account, scope, dimensions * 4),
        )
        while rows := cursor.fetchmany(chunk):
            rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimensions)
            yield rowids, matrix

    def iter_records(self, account: str, scope: str | None = None) -> Iterator[MemoryRecord]:
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.account = ? AND {_LIVE}"
        params: list[Any] = [account, now_ms()]
        if scope is not None:
            sql += " AND m.scope = ?"
            params.append(scope)
        for row in self._conn.execute(sql + " ORDER BY m.rowid", params).fetchall():
            yield _record(row)

    def vectors_of(self, account: str, memory_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        found: dict[str, tuple[str, np.ndarray]] = {}
        for start in range(0, len(memory_ids), 500):
            chunk = list(memory_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for memory_id, model, blob in self._conn.execute(
                "SELECT m.id, v.model, v.vector FROM memories m JOIN memory_vectors v ON v.memory_rowid = m.rowid"
                f" WHERE m.account = ? AND m.id IN ({marks})",
                [account, *chunk],
            ):
                found[memory_id] = (model, np.frombuffer(blob, dtype=np.float32))
        return found

    def iter_for_reindex(self, model_id: str) -> Iterator[tuple[int, str]]:
        rows = self._conn.execute(
            "SELECT m.rowid, m.value FROM memories m LEFT JOIN memory_vectors v ON v.memory_rowid = m.rowid"
            " WHERE v.model IS NULL OR v.model != ? ORDER BY m.rowid",
            (model_id,),
        ).fetchall()
        yield from ((int(r[0]), str(r[1])) for r in rows)

    def models(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT model, count(*) FROM memory_vectors GROUP BY model")
        return {r[0]: r[1] for r in rows}


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
