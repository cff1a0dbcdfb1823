"""Vector changes since a sequence number, and the vector index that follows them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from store_support import ACCOUNT, DIMENSIONS, MODEL, OTHER_ACCOUNT, SCOPE, DatabaseUnderTest, put, toward, unit

from memorylayer.store import Backend, Store, StoredVector, VectorIndex


def _by_row(changes: list[StoredVector]) -> dict[int, np.ndarray | None]:
    return {change.rowid: change.vector for change in changes}


def test_vector_changes_since_zero_are_the_live_vectors_of_the_model_in_write_order(store: Store) -> None:
    first, _ = put(store, "first")
    second, _ = put(store, "second")
    put(store, "other model", model="another-model")
    put(store, "other scope", scope="elsewhere")
    put(store, "other account", account=OTHER_ACCOUNT)
    changes, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    live = [c for c in changes if c.vector is not None]
    assert [c.rowid for c in live] == [first, second]
    assert np.allclose(live[0].vector, unit("first")) and live[0].vector.dtype == np.float32
    assert high > 0
    assert store.vector_changes(ACCOUNT, SCOPE, high, MODEL) == ([], high)


def test_vector_changes_report_deletes_and_supersessions_as_leaving_the_live_set(store: Store) -> None:
    deleted, gone = put(store, "deleted")
    superseded, old = put(store, "superseded")
    kept, _ = put(store, "kept")
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    store.delete(ACCOUNT, [gone.id])
    store.supersede(ACCOUNT, old.id, "newer")
    changes, new_high = store.vector_changes(ACCOUNT, SCOPE, high, MODEL)
    assert _by_row(changes) == {deleted: None, superseded: None}
    assert new_high > high
    assert kept not in _by_row(changes)


def test_vector_changes_carry_a_replaced_vector_and_a_high_water_mark_that_only_grows(store: Store) -> None:
    rowid, record = put(store, "before")
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    store.replace(replace(record, value="after", updated_at=2_000), unit("after"), ["after"])
    changes, next_high = store.vector_changes(ACCOUNT, SCOPE, high, MODEL)
    assert list(_by_row(changes)) == [rowid]
    assert np.allclose(changes[0].vector, unit("after"))
    assert next_high > high
    put(store, "elsewhere", scope="other-scope")
    assert store.vector_changes(ACCOUNT, SCOPE, next_high, MODEL) == ([], next_high)


def test_vector_changes_of_a_later_delete_win_over_the_insert(store: Store) -> None:
    rowid, record = put(store, "short lived")
    store.delete(ACCOUNT, [record.id])
    changes, _ = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    assert changes[-1].rowid == rowid and changes[-1].vector is None


def test_vector_changes_leave_out_other_accounts_scopes_and_models(store: Store) -> None:
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    _, theirs = put(store, "theirs", account=OTHER_ACCOUNT)
    store.delete(OTHER_ACCOUNT, [theirs.id])
    _, elsewhere = put(store, "elsewhere", scope="other-scope")
    store.delete(ACCOUNT, [elsewhere.id])
    other_model, _ = put(store, "other model", model="another-model")
    changes, _ = store.vector_changes(ACCOUNT, SCOPE, high, MODEL)
    assert all(c.vector is None for c in changes)
    assert {c.rowid for c in changes} <= {other_model}


# -- the vector index ---------------------------------------------------------------------------------
@pytest.fixture
def index(backend: Backend) -> VectorIndex:
    return backend.vector_index(MODEL, DIMENSIONS, threads=1)


def test_search_returns_the_nearest_live_memories_nearest_first_with_cosines(store: Store, index: VectorIndex) -> None:
    query = unit("query")
    rows = {
        cosine: put(store, f"at {cosine}", vector=toward(query, i, cosine))[0]
        for i, cosine in enumerate([0.1, 0.9, 0.5, 0.7, -0.3])
    }
    found = index.search(ACCOUNT, SCOPE, query, 3)
    assert [rowid for rowid, _ in found] == [rows[0.9], rows[0.7], rows[0.5]]
    assert [score for _, score in found] == pytest.approx([0.9, 0.7, 0.5], abs=2e-3)
    assert len(index.search(ACCOUNT, SCOPE, query, 50)) == 5
    assert len(index.search(ACCOUNT, SCOPE, query, 5_000)) == 5  # beyond pgvector's ef_search ceiling (1,000)
    assert index.search(ACCOUNT, SCOPE, query, 0) == []


def test_search_stays_within_the_account_scope_and_model(store: Store, index: VectorIndex) -> None:
    query = unit("query")
    mine, _ = put(store, "mine", vector=toward(query, 1, 0.5))
    put(store, "theirs", vector=query, account=OTHER_ACCOUNT)
    put(store, "elsewhere", vector=query, scope="other-scope")
    put(store, "other model", vector=query, model="another-model")
    assert [rowid for rowid, _ in index.search(ACCOUNT, SCOPE, query, 10)] == [mine]
    assert index.search(ACCOUNT, "never-written", query, 10) == []


def test_search_forgets_deleted_and_superseded_memories_and_sees_replaced_vectors(
    store: Store, index: VectorIndex
) -> None:
    query = unit("query")
    deleted, gone = put(store, "deleted", vector=query)
    superseded, old = put(store, "superseded", vector=toward(query, 1, 0.9))
    moved, record = put(store, "moved", vector=toward(query, 2, 0.1))
    assert [r for r, _ in index.search(ACCOUNT, SCOPE, query, 3)] == [deleted, superseded, moved]
    store.delete(ACCOUNT, [gone.id])
    store.supersede(ACCOUNT, old.id, record.id)
    store.replace(replace(record, updated_at=2_000), toward(query, 3, 0.95), None)
    found = index.search(ACCOUNT, SCOPE, query, 3)
    assert [r for r, _ in found] == [moved]
    assert found[0][1] == pytest.approx(0.95, abs=2e-3)


def test_search_many_answers_each_query_like_search(store: Store, index: VectorIndex) -> None:
    for i in range(20):
        put(store, f"memory {i}")
    queries = np.stack([unit(f"memory {i}") for i in range(0, 20, 2)] + [unit("unrelated")] * 70)
    many = index.search_many(ACCOUNT, SCOPE, queries, 2)
    assert len(many) == len(queries)
    for query, result in zip(queries, many, strict=True):
        assert result == index.search(ACCOUNT, SCOPE, query, 2)
    assert [found[0][1] for found in many[:10]] == pytest.approx([1.0] * 10, abs=2e-3)
    assert index.search_many(ACCOUNT, "empty", queries[:3], 2) == [[], [], []]


def test_an_exact_search_ranks_every_live_row_by_its_true_cosine(store: Store, index: VectorIndex) -> None:
    rowids = [put(store, f"exact {i}")[0] for i in range(300)]
    matrix = np.stack([unit(f"exact {i}") for i in range(300)])
    for seed in range(5):
        query = unit(f"query {seed}")
        cosines = matrix @ query
        best = sorted(cosines, reverse=True)[:25]
        found = index.search(ACCOUNT, SCOPE, query, 25, exact=True)
        true = dict(zip(rowids, cosines, strict=True))
        # The true cosines of what came back are the 25 best, best first, to float16's precision: rows
        # closer than that may swap (SimSIMD's float16 kernels on AVX512-FP16 round differently).
        assert [true[rowid] for rowid, _ in found] == pytest.approx(best, abs=1e-3)
        assert [cosine for _, cosine in found] == pytest.approx(best, abs=2e-3)


def test_vectors_returns_the_stored_vectors_of_live_rows_in_the_scope(store: Store, index: VectorIndex) -> None:
    mine, _ = put(store, "mine")
    old_row, old = put(store, "old")
    store.supersede(ACCOUNT, old.id, "newer")
    elsewhere, _ = put(store, "elsewhere", scope="other-scope")
    found = index.vectors(ACCOUNT, SCOPE, [mine, old_row, elsewhere, 10_000_000])
    assert list(found) == [mine]
    assert np.allclose(found[mine], unit("mine"), atol=1e-3)


def test_forget_drops_only_caches_and_the_next_search_rebuilds_them(store: Store, index: VectorIndex) -> None:
    mine, _ = put(store, "mine")
    theirs, _ = put(store, "theirs", account=OTHER_ACCOUNT)
    assert index.search(ACCOUNT, SCOPE, unit("mine"), 1)[0][0] == mine
    assert index.search(OTHER_ACCOUNT, SCOPE, unit("theirs"), 1)[0][0] == theirs
    index.forget(ACCOUNT)
    assert index.search(ACCOUNT, SCOPE, unit("mine"), 1)[0][0] == mine
    index.forget()
    assert index.search(OTHER_ACCOUNT, SCOPE, unit("theirs"), 1)[0][0] == theirs


def test_writes_through_a_second_backend_are_visible_on_the_next_search(
    store: Store, index: VectorIndex, database: DatabaseUnderTest
) -> None:
    query = unit("query")
    first, record = put(store, "first", vector=toward(query, 1, 0.5))
    assert [r for r, _ in index.search(ACCOUNT, SCOPE, query, 5)] == [first]
    other = database.open()
    try:
        second, _ = put(other.memories, "second", vector=toward(query, 2, 0.8))
        other.memories.delete(ACCOUNT, [record.id])
        assert [r for r, _ in index.search(ACCOUNT, SCOPE, query, 5)] == [second]
    finally:
        other.close()


def test_a_search_inside_a_rolled_back_transaction_leaves_no_trace(
    backend: Backend, store: Store, index: VectorIndex
) -> None:
    kept, _ = put(store, "kept")
    with pytest.raises(RuntimeError), backend.transaction():
        ghost, _ = put(store, "ghost")
        assert index.search(ACCOUNT, SCOPE, unit("ghost"), 1)[0][0] == ghost  # a transaction sees its own writes
        raise RuntimeError("roll back")
    later, _ = put(store, "later")
    assert {r for r, _ in index.search(ACCOUNT, SCOPE, unit("later"), 5)} == {kept, later}
    assert index.search(ACCOUNT, SCOPE, unit("later"), 1)[0][1] == pytest.approx(1.0, abs=2e-3)


def test_postgres_searches_with_the_ef_search_the_url_asks_for() -> None:
    """An operator trades speed for recall on large scopes with ``-c hnsw.ef_search=N`` (docs/deploy.md)."""
    from urllib.parse import quote

    from memorylayer.store import open_backend
    from memorylayer.store.postgres.vectors import EF_SEARCH
    from postgres_server import shared

    url = shared().new_database()
    default = open_backend(url)
    raised = open_backend(url + quote(" -c hnsw.ef_search=700", safe=""))
    try:
        assert default.vector_index(MODEL, DIMENSIONS).ef_search == EF_SEARCH  # type: ignore[attr-defined]
        index = raised.vector_index(MODEL, DIMENSIONS)
        assert index.ef_search == 700  # type: ignore[attr-defined]
        put(raised.memories, "one", vector=unit("one"))
        assert [score for _, score in index.search(ACCOUNT, SCOPE, unit("one"), 1)] == pytest.approx([1.0], abs=2e-3)
    finally:
        default.close()
        raised.close()


def test_postgres_builds_the_hnsw_graph_with_a_wide_candidate_list() -> None:
    """ef_construction 200, not pgvector's 64: the top 10 at ef_search 400 shared 0.98 with exact, not 0.80."""
    from memorylayer.store import open_backend
    from memorylayer.store.postgres.bulk import hnsw_index_name
    from postgres_server import shared

    backend = open_backend(shared().new_database())
    try:
        backend.vector_index(MODEL, DIMENSIONS)
        row = backend.memories.database.one(  # type: ignore[attr-defined]
            "SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", (hnsw_index_name(MODEL, DIMENSIONS),)
        )
        assert sorted(row[0]) == ["ef_construction=200", "m=16"]
    finally:
        backend.close()
