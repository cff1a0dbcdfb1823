"""The bulk store path on PostgreSQL: COPY into the memory tables, and the HNSW index built after a large load."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg import errors as pg
from psycopg import sql

from ...errors import Conflict
from ...types import MemoryRecord
from ..rows import INSERT_COLUMNS, insert_values

if TYPE_CHECKING:
    from .store import PostgresStore

#: A load of at least this many vectors of one model, and at least as many as its HNSW index holds,
#: builds the index again instead of inserting into it (:func:`insert_many`).
BULK_REBUILD_ROWS = 20_000
#: The least that build may use: the graph is built in memory (spilling past it is much slower). A larger
#: ``maintenance_work_mem`` given to the connection (the URL's ``options``, the role, the server) is kept.
BULK_MAINTENANCE_WORK_MEM = "1GB"
BULK_PARALLEL_WORKERS = 2
#: The HNSW graph's build: pgvector's default m, and a wider candidate list than its default 64. On
#: bench/backends.py's 100,000 vectors the top 10 shared with an exact scan at ef_search 400 went from
#: 0.80 to 0.98 for the same search time; the build takes about twice as long (docs/benchmarks.md).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200


def hnsw_index_name(model_id: str, dimensions: int) -> str:
    """The name of the partial HNSW index of one embedding model's vectors."""
    digest = hashlib.sha256(f"{model_id}/{int(dimensions)}".encode()).hexdigest()[:12]
    return f"memory_vectors_hnsw_{digest}"


def hnsw_index_sql(model_id: str, dimensions: int) -> sql.Composed:
    """CREATE INDEX IF NOT EXISTS for that index (cosine, over the vectors cast to the model's dimension)."""
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {} ON memory_vectors USING hnsw ((embedding::vector({})) vector_cosine_ops)"
        " WITH (m = {}, ef_construction = {}) WHERE model = {}"
    ).format(
        sql.Identifier(hnsw_index_name(model_id, dimensions)),
        sql.Literal(int(dimensions)),
        sql.Literal(HNSW_M),
        sql.Literal(HNSW_EF_CONSTRUCTION),
        sql.Literal(model_id),
    )


def insert_many(
    store: PostgresStore,
    records: Sequence[MemoryRecord],
    vectors: Sequence[np.ndarray | None],
    terms: Sequence[Sequence[str]],
) -> list[int]:
    """:meth:`PostgresStore.insert` for many new memories in one transaction, by COPY instead of statement by statement.

    A load at least as large as what a model's HNSW index already holds (and at least
    ``BULK_REBUILD_ROWS``) drops that index and builds it again after the COPY, inside the same
    transaction: building the graph once is several times faster than inserting into it row by
    row, and a failure rolls the drop back with the rows. Searches of the table wait for the
    commit meanwhile (the drop's lock).
    """
    if not records:
        return []
    with store.database.transaction() as conn:
        for account, scope in dict.fromkeys((r.account, r.scope) for r in records):
            store._touch_scope_once(account, scope)
        # Each row number is also the insert's change sequence number, as in :meth:`PostgresStore.insert`.
        numbers = store._run("SELECT nextval('memory_seq') FROM generate_series(1, %s)", (len(records),))
        rowids = [int(r[0]) for r in numbers]
        rebuild = _drop_hnsw_for_load(store, records, vectors)
        try:
            with conn.cursor().copy(f"COPY memories ({INSERT_COLUMNS}) FROM STDIN") as copy:
                for rowid, record in zip(rowids, records, strict=True):
                    copy.write_row(insert_values(rowid, record))
        except pg.UniqueViolation as exc:
            raise Conflict(f"a memory of this batch already exists ({exc.diag.constraint_name})") from exc
        with conn.cursor().copy(
            "COPY memory_vectors (memory_rowid, account, scope, live, model, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["bigint", "text", "text", "boolean", "text", "vector"])
            for rowid, record, vector in zip(rowids, records, vectors, strict=True):
                if vector is not None and record.model:
                    live = record.superseded_by is None
                    copy.write_row((rowid, record.account, record.scope, live, record.model, _as_float32(vector)))
        # One COPY at a time on a connection: the terms first, then their postings.
        counted = [Counter(" ".join(words).split()) for words in terms]
        with conn.cursor().copy("COPY memory_terms (memory_rowid, terms, length) FROM STDIN") as copy:
            for rowid, words, counts in zip(rowids, terms, counted, strict=True):
                copy.write_row((rowid, " ".join(words), counts.total()))
        with conn.cursor().copy("COPY memory_postings (account, scope, term, memory_rowid, tf) FROM STDIN") as copy:
            for rowid, record, counts in zip(rowids, records, counted, strict=True):
                for term, tf in counts.items():
                    copy.write_row((record.account, record.scope, term, rowid, tf))
        seen: Counter[str] = Counter()
        for counts in counted:
            seen.update(counts.keys())
        documents, tokens = len(records), sum(counts.total() for counts in counted)
        store._count(documents, tokens, seen.elements(), +1)
        for sql_statement in rebuild:
            store._run(sql_statement)
        return rowids


def _drop_hnsw_for_load(
    store: PostgresStore, records: Sequence[MemoryRecord], vectors: Sequence[np.ndarray | None]
) -> list[Any]:
    """Drop the HNSW indexes a load this large rebuilds faster; the statements that build them again."""
    loaded: Counter[tuple[str, int]] = Counter(
        (r.model, len(v)) for r, v in zip(records, vectors, strict=True) if v is not None and r.model
    )
    rebuild: list[Any] = []
    for (model, dimensions), count in loaded.items():
        if count < BULK_REBUILD_ROWS:
            continue
        name = hnsw_index_name(model, dimensions)
        found = store.database.one("SELECT to_regclass(%s)", (name,))
        if found is None or found[0] is None:
            continue
        held = store.database.one("SELECT count(*) FROM memory_vectors WHERE model = %s", (model,))
        if held is not None and int(held[0]) > count:
            continue  # inserting into the graph is cheaper than building all of it again
        store._run(f'DROP INDEX "{name}"')
        rebuild += [
            f"SET LOCAL maintenance_work_mem = '{_build_memory_kb(store)}kB'",
            f"SET LOCAL max_parallel_maintenance_workers = {BULK_PARALLEL_WORKERS}",
            hnsw_index_sql(model, dimensions),
        ]
    return rebuild


def _build_memory_kb(store: PostgresStore) -> int:
    """``maintenance_work_mem`` for the rebuild: the connection's own when larger than ``BULK_MAINTENANCE_WORK_MEM``."""
    row = store.database.one(
        "SELECT greatest(pg_size_bytes(current_setting('maintenance_work_mem')), pg_size_bytes(%s)) / 1024",
        (BULK_MAINTENANCE_WORK_MEM,),
    )
    return int(row[0]) if row else 1024 * 1024


def _as_float32(vector: Any) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32)
