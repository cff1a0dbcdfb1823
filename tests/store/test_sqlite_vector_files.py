"""The SQLite backend's persistent vector index files: derived, memory-mapped, checked, rebuilt.

Real SQLite files in a temporary folder; every index is opened as a new process would open it
(a fresh backend on the same path), so what is tested is what a CLI call or a restarted server sees.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from store_support import ACCOUNT, DIMENSIONS, MODEL, SCOPE, put, toward, unit

from memorylayer.store.sqlite import SqliteBackend, SqliteVectorIndex
from memorylayer.store.sqlite import vectors as vector_module


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def backend(path: Path) -> Iterator[SqliteBackend]:
    opened = SqliteBackend(path)
    yield opened
    opened.close()


def _index(backend: SqliteBackend, model: str = MODEL, dimensions: int = DIMENSIONS) -> SqliteVectorIndex:
    """An index that writes a file for any non-empty scope (the default waits for 4,096 rows)."""
    return SqliteVectorIndex(backend.memories, model, dimensions, folder=backend.vector_folder, persist_min_rows=1)


def _files(backend: SqliteBackend) -> list[Path]:
    return sorted(backend.vector_folder.glob("*.mlvx"))


def _header(file: Path) -> dict[str, object]:
    raw = file.read_bytes()[4:4096].rstrip(b"\0")
    return json.loads(raw)


def _fill(backend: SqliteBackend, count: int) -> tuple[np.ndarray, dict[int, str]]:
    query = unit("query")
    rowids: dict[int, str] = {}
    for n in range(count):
        rowid, record = put(backend.memories, f"memory {n}", vector=toward(query, n, 0.1 + 0.8 * n / count))
        rowids[rowid] = record.id
    return query, rowids


def test_a_first_search_writes_an_index_file_that_a_new_process_maps_instead_of_reading_sqlite(
    backend: SqliteBackend, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, rowids = _fill(backend, 20)
    expected = _index(backend).search(ACCOUNT, SCOPE, query, 5)
    [file] = _files(backend)
    header = _header(file)
    assert header["model"] == MODEL and header["dimensions"] == DIMENSIONS and header["rows"] == 20

    second = SqliteBackend(path)
    try:
        # A new process must not read the vectors out of SQLite when the file is current.
        def no_bulk_read(*args: object, **kwargs: object) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            raise AssertionError("rebuilt from SQLite although the index file was current")

        monkeypatch.setattr(second.memories, "live_vector_chunks", no_bulk_read)
        fresh = _index(second)
        found = fresh.search(ACCOUNT, SCOPE, query, 5)
        assert [r for r, _ in found] == [r for r, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-6)
        assert isinstance(fresh._scopes[(ACCOUNT, SCOPE)].base.matrix, np.memmap)
    finally:
        second.close()


def test_changes_made_after_the_file_was_written_are_applied_on_top_of_it(backend: SqliteBackend, path: Path) -> None:
    query, rowids = _fill(backend, 10)
    _index(backend).search(ACCOUNT, SCOPE, query, 3)
    [file] = _files(backend)
    before = file.read_bytes()
    nearest = max(rowids)
    backend.memories.delete(ACCOUNT, [rowids[nearest]])
    newest, _ = put(backend.memories, "newest", vector=toward(query, 99, 0.99))

    second = SqliteBackend(path)
    try:
        found = [r for r, _ in _index(second).search(ACCOUNT, SCOPE, query, 3)]
        assert found[0] == newest and nearest not in found
        assert file.read_bytes() == before  # two changes are not worth rewriting the file
        second.memories.delete(ACCOUNT, [second.memories.get_many_by_rowid(ACCOUNT, [newest])[newest].id])
        assert newest not in [r for r, _ in _index(second).search(ACCOUNT, SCOPE, query, 3)]
    finally:
        second.close()


def test_the_file_is_rewritten_once_enough_rows_changed(
    backend: SqliteBackend, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_module, "REWRITE_MIN_CHANGES", 5)
    query, _ = _fill(backend, 10)
    index = _index(backend)
    index.search(ACCOUNT, SCOPE, query, 3)
    [file] = _files(backend)
    first_seq = _header(file)["seq"]
    for n in range(6):
        put(backend.memories, f"later {n}", vector=toward(query, 100 + n, 0.5))
    index.search(ACCOUNT, SCOPE, query, 3)
    header = _header(file)
    assert header["rows"] == 16 and header["seq"] > first_seq  # type: ignore[operator]
    assert index.size(ACCOUNT, SCOPE) == 16


@pytest.mark.parametrize(
    "damage",
    ["truncated", "other model in header", "other database", "from the future", "an older format", "garbage"],
)
def test_a_damaged_or_foreign_index_file_is_never_trusted_but_rebuilt(
    backend: SqliteBackend, path: Path, damage: str
) -> None:
    query, rowids = _fill(backend, 12)
    expected = [r for r, _ in _index(backend).search(ACCOUNT, SCOPE, query, 12)]
    [file] = _files(backend)
    raw = bytearray(file.read_bytes())
    header = _header(file)
    if damage == "truncated":
        raw = raw[: len(raw) - 100]
    elif damage == "garbage":
        raw[:4096] = b"\x00" * 4096
    else:
        if damage == "other model in header":
            header["model"] = "another-model"
        elif damage == "other database":
            header["instance"] = int(header["instance"]) + 1  # type: ignore[call-overload]
        elif damage == "an older format":
            header["format"] = 2  # without lists; its layout is not this one
        else:
            header["seq"] = int(header["seq"]) + 1000  # type: ignore[call-overload]
        # Keep the rows but scramble them, so trusting this file would give wrong answers.
        raw[4096 : 4096 + 12 * DIMENSIONS * 2] = np.zeros(12 * DIMENSIONS, dtype=np.float16).tobytes()
        raw[:4096] = (b"MLVX" + json.dumps(header).encode()).ljust(4096, b"\0")
    file.write_bytes(bytes(raw))

    second = SqliteBackend(path)
    try:
        assert [r for r, _ in _index(second).search(ACCOUNT, SCOPE, query, 12)] == expected
        assert _header(file)["rows"] == 12 and _header(file)["format"] == 3  # rebuilt and rewritten
    finally:
        second.close()


def test_a_fresh_database_at_the_same_path_ignores_the_old_databases_index_file(
    backend: SqliteBackend, path: Path, tmp_path: Path
) -> None:
    query, _ = _fill(backend, 8)
    _index(backend).search(ACCOUNT, SCOPE, query, 3)
    [file] = _files(backend)
    saved = file.read_bytes()
    backend.close()
    for leftover in path.parent.glob(path.name + "*"):
        if leftover.is_file():
            leftover.unlink()
    fresh = SqliteBackend(path)  # a new, empty database where the old one was
    try:
        fresh.vector_folder.mkdir(exist_ok=True)
        file.write_bytes(saved)  # the old database's file is still there
        only, _ = put(fresh.memories, "only", vector=toward(query, 1, 0.3))
        assert [r for r, _ in _index(fresh).search(ACCOUNT, SCOPE, query, 5)] == [only]
    finally:
        fresh.close()


def test_a_scope_below_the_threshold_gets_no_file(backend: SqliteBackend) -> None:
    query, _ = _fill(backend, 5)
    index = SqliteVectorIndex(backend.memories, MODEL, DIMENSIONS, folder=backend.vector_folder, persist_min_rows=6)
    assert len(index.search(ACCOUNT, SCOPE, query, 10)) == 5
    assert _files(backend) == []


def test_the_backend_keeps_its_index_files_beside_the_database(backend: SqliteBackend, path: Path) -> None:
    assert backend.vector_folder == path.with_name("memories.db.vectors")
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT value FROM counters WHERE name = 'instance'").fetchone()[0] > 0


def test_searches_of_one_scope_run_in_parallel_with_writes_and_stay_correct(backend: SqliteBackend) -> None:
    query, rowids = _fill(backend, 50)
    index = _index(backend)
    best = index.search(ACCOUNT, SCOPE, query, 1)[0][0]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                found = index.search(ACCOUNT, SCOPE, query, 5)
                assert found[0][0] == best and len(found) == 5
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for n in range(30):  # writes from another connection, far from the query
            put(backend.memories, f"far {n}", vector=toward(query, 500 + n, 0.01))
            index.search(ACCOUNT, SCOPE, query, 1)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert index.size(ACCOUNT, SCOPE) == 80


def test_an_index_far_behind_the_store_is_reloaded_in_bulk_not_replayed_row_by_row(
    backend: SqliteBackend, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_module, "RELOAD_MIN_CHANGES", 4)
    query, _ = _fill(backend, 4)
    index = _index(backend)
    index.search(ACCOUNT, SCOPE, query, 3)
    for n in range(10):
        put(backend.memories, f"later {n}", vector=toward(query, 200 + n, 0.95 + n / 1000))
    replayed: list[int] = []
    real = backend.memories.vector_changes

    def counting(*args: object) -> tuple[list[object], int]:
        changes, high = real(*args)  # type: ignore[arg-type]
        replayed.append(len(changes))
        return changes, high  # type: ignore[return-value]

    monkeypatch.setattr(backend.memories, "vector_changes", counting)
    found = index.search(ACCOUNT, SCOPE, query, 3)
    assert index.size(ACCOUNT, SCOPE) == 14 and len(found) == 3
    assert max(replayed) == 0  # the 10 changes came in bulk, not as a replay
    second = SqliteBackend(path)
    try:  # the file was rewritten by the reload, so a new process does not replay either
        assert _header(_files(second)[0])["rows"] == 14
    finally:
        second.close()


def test_a_backup_restored_over_the_database_does_not_trust_the_index_file_of_the_history_it_replaced(
    backend: SqliteBackend, path: Path, tmp_path: Path
) -> None:
    query, _ = _fill(backend, 5)
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(backup)) as target:
        source.backup(target)
    for n in range(5):
        put(backend.memories, f"lost {n}", vector=toward(query, 300 + n, 0.99))
    _index(backend).search(ACCOUNT, SCOPE, query, 3)  # the file now holds the "lost" memories
    backend.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    backup.rename(path)
    restored = SqliteBackend(path)  # same instance number, and it will reach the same sequence numbers
    try:
        kept = {put(restored.memories, f"new {n}", vector=toward(query, 400 + n, 0.2))[0] for n in range(5)}
        found = {r for r, _ in _index(restored).search(ACCOUNT, SCOPE, query, 20)}
        assert kept <= found and len(found) == 10
        lost_scores = [s for _, s in _index(restored).search(ACCOUNT, SCOPE, query, 1)]
        assert lost_scores[0] < 0.95  # none of the replaced history's near-duplicates came back
    finally:
        restored.close()


def test_index_files_are_as_private_as_the_database_whatever_the_umask(backend: SqliteBackend) -> None:
    previous = os.umask(0o022)
    try:
        query, _ = _fill(backend, 3)
        _index(backend).search(ACCOUNT, SCOPE, query, 3)
    finally:
        os.umask(previous)
    [file] = _files(backend)
    assert stat.S_IMODE(backend.vector_folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


def test_a_folder_that_cannot_be_written_leaves_searches_working_from_memory(backend: SqliteBackend) -> None:
    backend.vector_folder.write_text("a file where the folder should be")  # mkdir fails, as on a read-only disk
    query, rowids = _fill(backend, 6)
    index = _index(backend)
    assert len(index.search(ACCOUNT, SCOPE, query, 10)) == 6
    put(backend.memories, "one more", vector=toward(query, 77, 0.999))
    assert index.search(ACCOUNT, SCOPE, query, 1)[0][1] == pytest.approx(0.999, abs=2e-3)


def _approximate_index(backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch) -> tuple[SqliteVectorIndex, list[int]]:
    """An index that searches any scope of 200+ rows through its sign bits, rescoring 100 rows; and a
    list that records the size of each scope it searched approximately."""
    monkeypatch.setattr(vector_module, "RESCORE_MIN", 100)
    approximate: list[int] = []
    real = SqliteVectorIndex._approximate

    def spy(self: SqliteVectorIndex, segments: list, center: np.ndarray, queries: np.ndarray, k: int) -> list:
        approximate.append(sum(segment.size for segment in segments))
        return real(self, segments, center, queries, k)

    monkeypatch.setattr(SqliteVectorIndex, "_approximate", spy)
    index = SqliteVectorIndex(
        backend.memories, MODEL, DIMENSIONS, folder=backend.vector_folder, persist_min_rows=1, approx_min_rows=200
    )
    return index, approximate


def _planted(backend: SqliteBackend, query: np.ndarray, near: int, far: int) -> list[int]:
    """``near`` memories close to ``query`` (cosine 0.5 to 0.85) among ``far`` random ones; the near rowids."""
    planted = []
    for n in range(far + near):
        if n % (far // near) == 0 and len(planted) < near:
            rowid, _ = put(backend.memories, f"near {n}", vector=toward(query, n, 0.5 + 0.35 * len(planted) / near))
            planted.append(rowid)
        else:
            put(backend.memories, f"far {n}")
    return planted


def _ids(found: list[tuple[int, float]]) -> list[int]:
    return [rowid for rowid, _ in found]


def test_a_large_scope_is_searched_through_sign_bits_and_finds_what_the_exact_scan_finds(
    backend: SqliteBackend, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, approximate = _approximate_index(backend, monkeypatch)
    query = unit("query")
    planted = _planted(backend, query, near=10, far=600)
    found = index.search(ACCOUNT, SCOPE, query, 10)
    exact = index.search(ACCOUNT, SCOPE, query, 10, exact=True)
    assert approximate == [610]
    assert _ids(found) == _ids(exact) == planted[::-1]
    assert [s for _, s in found] == pytest.approx([s for _, s in exact], abs=1e-6)  # rescored exactly

    # A new process maps the sign bits with the rows and answers the same.
    second = SqliteBackend(path)
    try:
        fresh, seen = _approximate_index(second, monkeypatch)
        assert fresh.search(ACCOUNT, SCOPE, query, 10) == found
        assert seen == [610] and isinstance(fresh._scopes[(ACCOUNT, SCOPE)].base.codes, np.memmap)
    finally:
        second.close()


def test_the_sign_bits_follow_replaced_deleted_and_new_vectors(
    backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, approximate = _approximate_index(backend, monkeypatch)
    query = unit("query")
    planted = _planted(backend, query, near=10, far=400)
    index.search(ACCOUNT, SCOPE, query, 10)  # the file is written; what follows lands on top of it
    records = backend.memories.get_many_by_rowid(ACCOUNT, planted)
    backend.memories.delete(ACCOUNT, [records[planted[-1]].id])
    moved = records[planted[-2]]
    backend.memories.replace(moved, unit("elsewhere"), None)
    newest, _ = put(backend.memories, "newest", vector=toward(query, 7, 0.99))
    found = index.search(ACCOUNT, SCOPE, query, 9)
    assert _ids(found) == _ids(index.search(ACCOUNT, SCOPE, query, 9, exact=True))
    assert _ids(found) == [newest, *planted[-3::-1]]
    assert len(approximate) == 2


def test_vectors_of_rows_moved_by_deletes_are_found_and_deleted_rows_are_not(backend: SqliteBackend) -> None:
    query, rowids = _fill(backend, 12)
    index = _index(backend)
    index.search(ACCOUNT, SCOPE, query, 3)  # the rows now come from the mapped file
    order = sorted(rowids)
    deleted = [order[1], order[4], order[5]]  # each delete moves the base's last row into its hole
    backend.memories.delete(ACCOUNT, [rowids[r] for r in deleted])
    newest, _ = put(backend.memories, "newest", vector=toward(query, 50, 0.3))
    found = index.vectors(ACCOUNT, SCOPE, [*order, newest, 10_000])
    assert sorted(found) == sorted(set(order) - set(deleted)) + [newest]
    stored = {v.rowid: v.vector for v in backend.memories.vector_changes(ACCOUNT, SCOPE, 0, MODEL)[0]}
    for rowid, vector in found.items():
        assert vector == pytest.approx(stored[rowid], abs=1e-3)


def test_the_hamming_selection_keeps_about_the_rows_asked_for_and_never_a_farther_one() -> None:
    rng = np.random.default_rng(4)
    for distances in (
        rng.integers(0, 385, 100_000).astype(np.uint16),  # spread out: read off a sample
        np.zeros(100_000, dtype=np.uint16),  # all tied: every row is as close
        np.where(np.arange(100_000) % 8 == 0, 300, 1).astype(np.uint16),  # the sample sees only far rows
    ):
        near = vector_module._closest(distances, 1000)
        assert len(near) >= 500  # the threshold read off a sample of every 8th row lands near 1000
        # Nothing left out is closer than anything kept.
        left_out = np.setdiff1d(np.arange(len(distances)), near)
        assert left_out.size == 0 or distances[left_out].min() > distances[near].max()
    # The sample saw only the far rows; the full histogram keeps the 87,500 rows at distance 1.
    assert len(near) == 87_500


def test_approximate_searches_leave_pythons_reference_counts_as_they_were(
    backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SimSIMD 6.5's cdist(out=...) returned None without a reference: every approximate search took
    # one from None, and a long-running server aborted once None ran out ("deallocating None").
    index, approximate = _approximate_index(backend, monkeypatch)
    query = unit("query")
    _planted(backend, query, near=10, far=300)
    index.search(ACCOUNT, SCOPE, query, 10)
    before = sys.getrefcount(None)
    for _ in range(500):
        index.search(ACCOUNT, SCOPE, query, 10)
    assert len(approximate) == 501
    assert sys.getrefcount(None) >= before - 50  # a few transient references may come and go


def test_hamming_distances_are_the_bits_each_pair_differs_in() -> None:
    rng = np.random.default_rng(9)
    bits = rng.integers(0, 256, (3, 48), dtype=np.uint8)
    codes = rng.integers(0, 256, (5000, 48), dtype=np.uint8)
    expected = np.unpackbits(bits[:, None, :] ^ codes[None, :, :], axis=-1).sum(axis=-1)
    for threads in (1, 2):
        table = vector_module._hamming(bits, codes, threads)
        assert table.dtype == np.uint16 and table.shape == (3, 5000)
        assert (table == expected).all()
