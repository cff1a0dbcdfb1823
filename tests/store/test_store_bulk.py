"""The bulk path (``insert_many``): the same rows as one insert at a time, all or nothing, the vector index kept."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import pytest
from store_support import ACCOUNT, DIMENSIONS, MODEL, SCOPE, DatabaseUnderTest, memory, put, terms, unit

from memorylayer.errors import Conflict
from memorylayer.store import Backend, Store, open_backend

VALUES = [f"fact {i} about the {word} launch" for i, word in enumerate(["friday", "rocket", "friday", "moon"] * 5)]


def test_insert_many_writes_exactly_what_inserting_one_at_a_time_writes(store: Store) -> None:
    one = [memory(v, scope="one-by-one", key=f"k{i}" if i % 3 == 0 else None) for i, v in enumerate(VALUES)]
    bulk = [replace(memory(v, scope="bulk"), key=r.key) for r, v in zip(one, VALUES, strict=True)]
    singles = [store.insert(r, unit(r.value), terms(r.value)) for r in one]
    rowids = store.insert_many(bulk, [unit(r.value) for r in bulk], [terms(r.value) for r in bulk])

    assert len(set(rowids)) == len(bulk) and min(rowids) > max(singles)
    assert rowids == sorted(rowids)  # in write order, as the change feed reads them
    for r in bulk:
        assert store.get(ACCOUNT, r.id) == r
    by_row = store.get_many_by_rowid(ACCOUNT, rowids)
    assert [by_row[rowid].id for rowid in rowids] == [r.id for r in bulk]
    # The lexical index and its statistics: the same terms score the same in both scopes.
    query = ["friday", "launch"]
    single_scores = [score for _, score in store.lexical(ACCOUNT, "one-by-one", query, 50)]
    bulk_scores = [score for _, score in store.lexical(ACCOUNT, "bulk", query, 50)]
    assert bulk_scores == pytest.approx(single_scores) and len(bulk_scores) == len(VALUES)
    assert store.term_stats(["friday"])[1] == {"friday": 20}
    assert store.terms_for([rowids[1]]) == {rowids[1]: set(terms(bulk[1].value))}
    # Vectors: the change feed carries every loaded vector.
    changes, _ = store.vector_changes(ACCOUNT, "bulk", 0, MODEL)
    assert [c.rowid for c in changes] == rowids
    assert all(
        c.vector is not None and c.vector @ unit(r.value) == pytest.approx(1, abs=1e-3)
        for c, r in zip(changes, bulk, strict=True)
    )
    assert "bulk" in store.scopes(ACCOUNT)


def test_a_batch_with_a_taken_key_writes_nothing(store: Store) -> None:
    put(store, "the old drink", key="drink")
    documents = store.term_stats(["tea"])[0]
    batch = [memory("tea now"), memory("tea again", key="drink")]
    with pytest.raises(Conflict):
        store.insert_many(batch, [unit(1), unit(2)], [terms(r.value) for r in batch])
    assert store.get(ACCOUNT, batch[0].id) is None
    assert store.term_stats(["tea"]) == (documents, {"tea": 0})
    assert store.lexical(ACCOUNT, SCOPE, ["tea"], 10) == []


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert store.insert_many([], [], []) == []
    assert store.scopes(ACCOUNT) == []


def _hnsw_index_oid(backend: Backend) -> int | None:
    """The model's HNSW index (a new oid once it was built again), None when it is missing."""
    from memorylayer.store.postgres.bulk import hnsw_index_name

    row = backend.memories.database.one(  # type: ignore[attr-defined]
        "SELECT to_regclass(%s)::oid", (hnsw_index_name(MODEL, DIMENSIONS),)
    )
    return None if row[0] is None else int(row[0])


def test_postgres_rebuilds_the_vector_index_after_a_large_load_and_keeps_it_on_failure(
    database: DatabaseUnderTest, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.kind != "postgres":
        pytest.skip("PostgreSQL only: SQLite has no database-side vector index to rebuild")
    from memorylayer.store.postgres import bulk as postgres_bulk

    monkeypatch.setattr(postgres_bulk, "BULK_REBUILD_ROWS", 50)
    index = backend.vector_index(MODEL, DIMENSIONS, threads=1)
    built = _hnsw_index_oid(backend)
    assert built is not None
    put(backend.memories, "already there")
    batch = [memory(f"loaded {i}") for i in range(120)]
    failing = [*batch[:60], memory("a duplicate id", memory_id=batch[0].id)]
    with pytest.raises(Conflict):
        backend.memories.insert_many(failing, [unit(r.value) for r in failing], [terms(r.value) for r in failing])
    assert _hnsw_index_oid(backend) == built  # the drop rolled back with the rows
    backend.memories.insert_many(batch, [unit(r.value) for r in batch], [terms(r.value) for r in batch])
    rebuilt = _hnsw_index_oid(backend)
    assert rebuilt is not None and rebuilt != built
    for r in batch[::17]:
        (found, cosine), *_ = index.search(ACCOUNT, SCOPE, unit(r.value), 3)
        assert backend.memories.get_many_by_rowid(ACCOUNT, [found])[found].id == r.id
        assert cosine == pytest.approx(1.0, abs=2e-3)


def test_postgres_rebuild_memory_is_at_least_a_gigabyte_and_keeps_a_larger_configured_one(
    database: DatabaseUnderTest, backend: Backend
) -> None:
    if database.kind != "postgres":
        pytest.skip("PostgreSQL only: SQLite has no database-side vector index to rebuild")
    from memorylayer.store.postgres.bulk import _build_memory_kb

    assert _build_memory_kb(backend.memories) == 1024 * 1024  # the server's 64 MB default is raised to 1 GB
    larger = open_backend(database.url + quote(" -c maintenance_work_mem=3GB", safe=""))
    try:
        assert _build_memory_kb(larger.memories) == 3 * 1024 * 1024  # an operator's larger setting is kept
    finally:
        larger.close()
