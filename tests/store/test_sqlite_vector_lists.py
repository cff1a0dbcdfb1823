"""Inverted lists in the SQLite backend's index files: a large scope's search reads the lists near the
query, finds what the exact scan finds, and stays right as rows are deleted, replaced and added.

Real SQLite files; the thresholds are lowered so a scope of a few hundred rows gets lists (the default
waits for 50,000), and every new process is a fresh backend on the same path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from store_support import ACCOUNT, DIMENSIONS, MODEL, SCOPE, put, toward, unit

from memorylayer.store.sqlite import SqliteBackend, SqliteVectorIndex, vector_lists
from memorylayer.store.sqlite import vectors as vector_module

CLUSTERS = 24
PER_CLUSTER = 25


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def backend(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqliteBackend]:
    monkeypatch.setattr(vector_module, "RESCORE_MIN", 60)
    monkeypatch.setattr(vector_lists, "PROBE_MIN_ROWS", 0)  # read 1/16 of the rows, not all of these few
    opened = SqliteBackend(path)
    yield opened
    opened.close()


def _index(backend: SqliteBackend) -> SqliteVectorIndex:
    """Lists (and the sign-bit search) for any scope of 200 rows or more."""
    return SqliteVectorIndex(
        backend.memories,
        MODEL,
        DIMENSIONS,
        folder=backend.vector_folder,
        persist_min_rows=1,
        approx_min_rows=200,
        lists_min_rows=200,
    )


def _header(backend: SqliteBackend) -> dict[str, object]:
    [file] = sorted(backend.vector_folder.glob("*.mlvx"))
    return json.loads(file.read_bytes()[4:4096].rstrip(b"\0"))


def _clustered(
    backend: SqliteBackend, start: int = 0, clusters: int = CLUSTERS, first: int = 0
) -> dict[int, np.ndarray]:
    """``PER_CLUSTER`` memories around each of ``clusters`` centers (from center ``first`` on), as
    embeddings of related texts gather; their rowids and vectors."""
    vectors: dict[int, np.ndarray] = {}
    for cluster in range(first, first + clusters):
        center = unit(f"cluster {cluster}")
        for n in range(PER_CLUSTER):
            vector = toward(center, start + cluster * 1000 + n, 0.6 + 0.3 * n / PER_CLUSTER)
            rowid, _ = put(backend.memories, f"memory {start} {cluster} {n}", vector=vector)
            vectors[rowid] = vector
    return vectors


def _queries() -> np.ndarray:
    return np.stack([toward(unit(f"cluster {c}"), 99_000 + c, 0.95) for c in range(CLUSTERS)])


def _ids(found: list[tuple[int, float]]) -> list[int]:
    return [rowid for rowid, _ in found]


def _as_exact(index: SqliteVectorIndex, queries: np.ndarray, k: int = 10) -> list[list[tuple[int, float]]]:
    """The approximate answers, checked to be the exact scan's: the same scores, and the same rows
    except among rows tied at the last score (float16 scores tie, and either may be cut)."""
    found = index.search_many(ACCOUNT, SCOPE, queries, k)
    for hits, exact in zip(found, index.search_many(ACCOUNT, SCOPE, queries, k, exact=True), strict=True):
        assert [s for _, s in hits] == pytest.approx([s for _, s in exact], abs=1e-6)
        cut = exact[-1][1]
        assert {r for r, s in hits if s > cut} == {r for r, s in exact if s > cut}
    return found


def test_a_large_scope_gets_lists_that_a_new_process_maps_and_its_searches_find_what_the_exact_scan_finds(
    backend: SqliteBackend, path: Path
) -> None:
    _clustered(backend)
    index = _index(backend)
    queries = _queries()
    found = _as_exact(index, queries)
    entry = index._scopes[(ACCOUNT, SCOPE)]
    assert entry.lists is not None and _header(backend)["lists"] == len(entry.lists.centroids) > 1
    assert _header(backend)["trained"] == CLUSTERS * PER_CLUSTER
    # A search reads only a share of the rows' sign bits: the nearest lists'.
    assert len(entry.lists.probed(queries[0])) < entry.size / 2

    second = SqliteBackend(path)
    try:
        fresh = _index(second)
        assert fresh.search_many(ACCOUNT, SCOPE, queries, 10) == found
        mapped = fresh._scopes[(ACCOUNT, SCOPE)].lists
        assert mapped is not None and np.array_equal(mapped.centroids, entry.lists.centroids)
    finally:
        second.close()


def test_rows_deleted_replaced_and_added_after_the_file_are_found_by_their_vectors_and_deleted_ones_never(
    backend: SqliteBackend,
) -> None:
    vectors = _clustered(backend)
    index = _index(backend)
    index.search(ACCOUNT, SCOPE, _queries()[0], 10)  # the file with its lists is written; changes land on top
    rowids = sorted(vectors)
    records = backend.memories.get_many_by_rowid(ACCOUNT, rowids)
    base = index._scopes[(ACCOUNT, SCOPE)].base
    in_file = base.rowids[: base.size].tolist()  # list by list
    # Each delete moves the base's last row into the hole (and into the hole's place in its list);
    # the second round deletes rows that such moves put elsewhere.
    deleted = in_file[3::7]
    backend.memories.delete(ACCOUNT, [records[r].id for r in deleted])
    index.size(ACCOUNT, SCOPE)
    moved = [r for r in in_file[-30:] if r not in deleted][:10]
    backend.memories.delete(ACCOUNT, [records[r].id for r in moved])
    deleted += moved
    # A replaced vector may belong in another list: the row must be found by its new vector.
    for n, rowid in enumerate(rowids[5::11]):
        if rowid in deleted:
            continue
        vectors[rowid] = toward(unit(f"cluster {(n + 5) % CLUSTERS}"), 50_000 + n, 0.97)
        backend.memories.replace(records[rowid], vectors[rowid], None)
    vectors.update(_clustered(backend, start=7, clusters=2))
    for rowid in deleted:
        del vectors[rowid]

    live = sorted(vectors)
    assert index.size(ACCOUNT, SCOPE) == len(live)
    found = index.search_many(ACCOUNT, SCOPE, np.stack([vectors[r] for r in live]), 3)
    assert [hits[0][0] for hits in found] == live  # each live row is its own nearest
    assert all(hits[0][1] == pytest.approx(1.0, abs=2e-3) for hits in found)
    assert not {r for hits in found for r in _ids(hits)} & set(deleted)
    _as_exact(index, _queries())


def test_a_rewrite_files_new_rows_into_the_kept_lists_until_the_scope_doubles(
    backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_module, "REWRITE_MIN_CHANGES", 50)
    _clustered(backend)
    index = _index(backend)
    queries = _queries()
    index.search(ACCOUNT, SCOPE, queries[0], 10)
    first = index._scopes[(ACCOUNT, SCOPE)].lists
    assert first is not None
    trained, seq = _header(backend)["trained"], _header(backend)["seq"]

    _clustered(backend, start=1, clusters=4)  # 100 rows: enough changes for a rewrite, far from doubling
    _as_exact(index, queries)
    header = _header(backend)
    assert header["seq"] > seq and header["rows"] == 700 and header["trained"] == trained  # type: ignore[operator]
    kept = index._scopes[(ACCOUNT, SCOPE)]
    assert kept.lists is not None and np.array_equal(kept.lists.centroids, first.centroids)
    assert kept.tail.size == 0  # the new rows are in the lists now

    _clustered(backend, start=2, first=CLUSTERS)  # 600 more, new topics: past twice the trained size
    _as_exact(index, queries)
    assert _header(backend)["trained"] == 1300  # so the centroids were trained again


def test_lists_that_do_not_cover_the_files_rows_are_not_trusted_but_rebuilt(backend: SqliteBackend, path: Path) -> None:
    _clustered(backend)
    queries = _queries()
    expected = _index(backend).search_many(ACCOUNT, SCOPE, queries, 10)
    [file] = sorted(backend.vector_folder.glob("*.mlvx"))
    raw = bytearray(file.read_bytes())
    raw[-8:] = np.int64(10).tobytes()  # the last list now "ends" at row 10 of 600
    file.write_bytes(bytes(raw))

    second = SqliteBackend(path)
    try:
        fresh = _index(second)
        assert fresh.search_many(ACCOUNT, SCOPE, queries, 10) == expected
        assert int(np.frombuffer(file.read_bytes()[-8:], dtype=np.int64)[0]) == CLUSTERS * PER_CLUSTER  # rewritten
    finally:
        second.close()


def test_a_search_whose_nearest_lists_were_emptied_or_whose_base_was_all_replaced_still_finds_the_rows(
    backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every row a search reads is rescored, so what is checked is which rows it reads.
    monkeypatch.setattr(vector_module, "RESCORE_MIN", 1000)
    vectors = _clustered(backend)
    index = _index(backend)
    query = _queries()[0]
    index.search(ACCOUNT, SCOPE, query, 10)
    entry = index._scopes[(ACCOUNT, SCOPE)]
    assert entry.lists is not None
    emptied = entry.base.rowids[entry.lists.probed(query)].tolist()  # every row of the lists it reads
    records = backend.memories.get_many_by_rowid(ACCOUNT, sorted(vectors))
    backend.memories.delete(ACCOUNT, [records[r].id for r in emptied])
    hits = _as_exact(index, query[None, :])[0]
    assert len(hits) == 10 and not set(_ids(hits)) & set(emptied)

    for rowid in sorted(set(vectors) - set(emptied)):  # every row left gets a new vector: the base empties
        backend.memories.replace(records[rowid], toward(query, rowid, 0.2 + 0.7 * (rowid % 50) / 50), None)
    _as_exact(index, query[None, :])
    assert index._scopes[(ACCOUNT, SCOPE)].base.size == 0
