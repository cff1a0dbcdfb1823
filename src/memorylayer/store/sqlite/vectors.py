"""Exact vector search per scope, derived from the store, kept in step with it and kept on disk.

Vectors are held as float16 and scored with SimSIMD's mixed-precision dot product: half the
memory and about half the time of a float32 NumPy scan at 100k vectors (the scan is memory-bound),
with scores within 1e-4 of float32.

SQLite stays the source of truth. Each scope's matrix follows the store's change sequence, so
writes from other processes (two editors' MCP servers plus the CLI) show up on the next query
without a rebuild: only rows changed since the last sync are read.

A scope of at least :data:`PERSIST_MIN_ROWS` vectors is also written to an index file in a
``<database>.vectors/`` folder beside the database, so a new process (every CLI call, an MCP
server start, a server restart) memory-maps it instead of reading every vector out of SQLite: its
first query reads the rows changed since the file's sequence number and pages the matrix in as the
scan touches it. The file is derived and never trusted blindly: its database instance, model id,
dimensions, sequence number and the scope's latest memories and deletes as of that number are
checked against the database, and a missing, damaged or stale file is rebuilt from the store. The
mapping is copy-on-write: rows changed since the file was written live in private pages, and the
file is rewritten (atomically, by rename) once enough rows have changed, so the process holds the
file's pages plus the changes, with no per-row Python objects.

Scopes of at least :data:`APPROX_MIN_ROWS` vectors are searched approximately: each row also keeps
its signs about the scope's mean row as bits (48 bytes for 384 dimensions, a sixteenth of its
float16 row), a Hamming scan of those bits picks the :func:`rescored` closest rows (1 % of the scope,
at least 4,000), and those are scored exactly in float16. At 1M that reads 48 MB of bits and 8 MB
of rows instead of 768 MB, with recall@10 against the exact scan of 0.99 (docs/benchmarks.md);
there is nothing to build or train, so the bits follow every change as the rows do. Smaller scopes
stay exact. Scopes of at least :data:`LISTS_MIN_ROWS` also get inverted lists in their index file
(vector_lists.py), so a search reads the sign bits of the rows near the query only.

Searches of one scope run in parallel (a readers-writer lock): a writer's changes are applied
under the exclusive side, which readers wait for only as long as that update takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import simsimd

from ...errors import StorageError
from ..base import StoredVector
from .locks import ReadWriteLock
from .store import SqliteStore
from .vector_files import (
    DTYPE,
    Anchors,
    IndexFiles,
    Opened,
    Segment,
    empty_segment,
    in_memory_segment,
    mean_row,
    signs,
)
from .vector_lists import Lists, assign, list_count, starts_of, train

#: Queries scored per scan in search_many (bounds the score table to 64 x scope size floats).
QUERY_BATCH = 64
#: Scopes at least this large are searched through their sign bits with exact rescoring. Below it
#: the exact scan costs about what the rescoring alone would (docs/benchmarks.md).
APPROX_MIN_ROWS = 30_000
#: Scopes at least this large get inverted lists when their index file is written: a full scan of
#: the sign bits costs more than ranking the centroids and reading the nearest lists (docs/benchmarks.md).
LISTS_MIN_ROWS = 50_000
#: Rows rescored exactly: this share of the scope, and at least RESCORE_MIN (and 8 x k).
RESCORE_SHARE = 0.01
RESCORE_MIN = 4000
#: Queries per Hamming scan (the distance table is uint16: 8 x 1M x 2 bytes at 1M).
APPROX_QUERY_BATCH = 8
#: Query x row pairs a scan needs before it is split across threads: about 3 ms of one core's work
#: (a float16 dot product of 384 dimensions, a Hamming distance of 48 bytes). A smaller scan runs
#: on the caller's thread alone: waking a second one costs more than it saves, and on a busy machine
#: it waits for a free core (8 ms and more measured beside other work; docs/benchmarks.md).
PARALLEL_DOT_PAIRS = 50_000
PARALLEL_HAMMING_PAIRS = 400_000
#: Scopes smaller than this load from SQLite in well under 100 ms and get no index file.
PERSIST_MIN_ROWS = 4096
#: The file is rewritten once this share of its rows (and at least REWRITE_MIN_CHANGES) changed.
REWRITE_SHARE = 0.05
REWRITE_MIN_CHANGES = 1024
#: A cached scope this far behind (and behind by more than its own size) is reloaded in bulk
#: instead of replaying the changes one Python object per row.
RELOAD_MIN_CHANGES = 50_000


def rescored(size: int, k: int) -> int:
    """How many rows the Hamming scan hands to exact scoring in a scope of ``size`` rows."""
    return min(size, max(RESCORE_MIN, 8 * k, int(RESCORE_SHARE * size)))


def _closest(distances: np.ndarray, count: int) -> np.ndarray:
    """Positions of about ``count`` smallest distances (all rows within the distance that reaches it).

    The distance is read off a histogram of every eighth row: distances are small integers, and a
    full sort or partition of 1M of them costs more than the scan that made them.
    """
    if count >= len(distances):
        return np.arange(len(distances))
    for step in (8, 1) if len(distances) >= 64 * count else (1,):
        counts = np.cumsum(np.bincount(distances[::step]))
        near = np.flatnonzero(distances <= int(np.searchsorted(counts, count / step)))
        if count // 2 <= len(near) <= 4 * count:  # a sample that misjudged the distance: read all rows
            break
    return near


def _hamming(bits: np.ndarray, codes: np.ndarray, threads: int) -> np.ndarray:
    """Hamming distances from each row of ``bits`` to each row of ``codes``, as uint16 (SimSIMD's
    default float64 table is four times the memory traffic).

    SimSIMD 6.5 returns None without a reference of its own when given ``out=``: each such call took
    one reference from None, and after about as many searches as None had references (about 30,000
    in a server) the interpreter aborted ("deallocating None"). ``out_dtype`` gets the same table without it.
    """
    if not len(codes):  # SimSIMD refuses empty collections
        return np.zeros((len(bits), 0), dtype=np.uint16)
    threads = threads if len(bits) * len(codes) >= PARALLEL_HAMMING_PAIRS else 1
    # uint16 is missing from SimSIMD's stubs, not from cdist (a test checks the table against numpy).
    table = simsimd.cdist(
        bits,
        codes,
        metric="hamming",
        dtype="bin8",
        out_dtype="uint16",  # type: ignore[arg-type]
        threads=threads,
    )
    return np.asarray(table).reshape(len(bits), len(codes))


def _joined(parts: list[np.ndarray], axis: int = 0) -> np.ndarray:
    """``parts`` end to end; the only part itself when there is one (the base segment, mostly)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _top(scores: np.ndarray, rowids: np.ndarray, k: int) -> list[tuple[int, float]]:
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(rowids[i]), float(scores[i])) for i in top]


def _rescored_top(
    query: np.ndarray, segments: list[Segment], picks: list[np.ndarray], k: int
) -> list[tuple[int, float]]:
    """The top ``k`` of the rows at ``picks`` (positions within each of ``segments``), scored exactly.

    Segments nothing was picked from are left out: joining an empty part would copy the others.
    """
    pairs = [(s, at) for s, at in zip(segments, picks, strict=True) if len(at)] or [(segments[0], picks[0])]
    rows = _joined([np.take(s.matrix, at, axis=0) for s, at in pairs])
    rowids = _joined([s.rowids[at] for s, at in pairs])
    scores = np.asarray(simsimd.cdist(query[None, :], rows, metric="dot", out_dtype="float32"))[0]
    return _top(scores, rowids, k)


def _by_list(rowids: np.ndarray, matrix: np.ndarray, list_ids: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rowids, rows) chunks list by list, as the index file stores them (a chunk at a time in memory)."""
    order = np.argsort(list_ids, kind="stable")
    for at in range(0, len(order), 65_536):
        picked = order[at : at + 65_536]
        yield rowids[picked], np.take(matrix, picked, axis=0)


@dataclass
class _ScopeVectors:
    """One scope's live vectors: a base segment (mapped from the index file, or built in memory) plus
    a tail of rows added since; removals move the segment's last row into the hole."""

    dimensions: int
    seq: int = 0
    base: Segment = field(default_factory=lambda: empty_segment(0))
    tail: Segment = field(default_factory=lambda: empty_segment(0))
    #: What the sign bits of both segments are taken about (:func:`signs`); fixed until a rewrite.
    center: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=DTYPE))
    #: The base's inverted lists, when its index file was written with them.
    lists: Lists | None = None
    #: Rows changed since the base was written to (or read from) the index file.
    changed_since_file: int = 0
    file_seq: int = -1
    #: The base's rowids sorted, and where each of those rows is now (:meth:`_base_positions`).
    _sorted: np.ndarray = field(init=False, repr=False)
    _where: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rowids = np.array(self.base.rowids[: self.base.size], dtype=np.int64)
        if len(rowids) > 1 and not bool(np.all(rowids[1:] > rowids[:-1])):
            order = np.argsort(rowids, kind="stable")
            self._sorted, self._where = rowids[order], order
        else:
            self._sorted, self._where = rowids, np.arange(len(rowids))

    @property
    def size(self) -> int:
        return self.base.size + self.tail.size

    def segments(self) -> tuple[Segment, Segment]:
        return self.base, self.tail

    def _base_positions(self, rowids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The base's ``rowids`` present and their positions, by binary search: no pass over the base.

        Rows only leave the base (a removal moves its last row into the hole, and :meth:`_remove`
        keeps ``_where`` up to date for the moved row), so a rowid is present exactly when the row
        at its recorded position still carries it.
        """
        sorted_ids, base = self._sorted, self.base
        if not len(sorted_ids) or not len(rowids):
            return rowids[:0], rowids[:0]
        ranks = np.minimum(np.searchsorted(sorted_ids, rowids), len(sorted_ids) - 1)
        at = self._where[ranks]
        present = (sorted_ids[ranks] == rowids) & (at < base.size)
        present[present] = base.rowids[at[present]] == rowids[present]
        return rowids[present], at[present]

    def _positions(self, rowids: np.ndarray) -> dict[int, tuple[int, int]]:
        """(segment, index) of each of ``rowids`` present: a binary search of the base, a pass over the tail."""
        found, at = self._base_positions(rowids)
        positions = {int(r): (0, int(i)) for r, i in zip(found, at, strict=True)}
        live = self.tail.rowids[: self.tail.size]
        hits = np.flatnonzero(np.isin(live, rowids))
        positions.update((int(live[i]), (1, int(i))) for i in hits)
        return positions

    def apply(self, changes: list[StoredVector], seq: int) -> None:
        if changes:
            positions = self._positions(np.fromiter((c.rowid for c in changes), dtype=np.int64, count=len(changes)))
            for change in changes:
                if change.vector is None or change.vector.shape[0] != self.dimensions:
                    self._remove(change.rowid, positions)
                else:
                    self._upsert(change.rowid, change.vector, positions)
            self.changed_since_file += len(changes)
        self.seq = seq

    def _upsert(self, rowid: int, vector: np.ndarray, positions: dict[int, tuple[int, int]]) -> None:
        at = positions.get(rowid)
        if at is not None and (at[0] == 1 or self.lists is None):
            self.segments()[at[0]].put(at[1], rowid, vector, self.center)
            return
        if at is not None:  # a listed row's new vector may belong in another list: it joins the tail
            self._remove(rowid, positions)
        tail = self.tail
        if tail.size == len(tail.rowids):
            tail.grow(self.dimensions)
        tail.put(tail.size, rowid, vector, self.center)
        positions[rowid] = (1, tail.size)
        tail.size += 1

    def _remove(self, rowid: int, positions: dict[int, tuple[int, int]]) -> None:
        at = positions.pop(rowid, None)
        if at is None:
            return
        segment = self.segments()[at[0]]
        last = segment.size - 1
        if at[0] == 0 and self.lists is not None:
            self.lists.removed(at[1], last)
        if at[1] != last:  # move the last row into the hole
            moved = int(segment.rowids[last])
            segment.rowids[at[1]] = moved
            segment.matrix[at[1]] = segment.matrix[last]
            segment.codes[at[1]] = segment.codes[last]
            positions[moved] = (at[0], at[1])
            if at[0] == 0:
                rank = int(np.searchsorted(self._sorted, moved))
                self._where[rank] = at[1]
        segment.size = last

    def copy(self) -> _ScopeVectors:
        rowids, matrix, codes = self.flat()
        base = Segment(rowids.copy(), matrix.copy(), len(rowids), codes.copy())
        return _ScopeVectors(self.dimensions, self.seq, base, empty_segment(self.dimensions), self.center)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All rowids, rows and sign bits (a copy only when the tail holds rows)."""
        base, tail = self.base, self.tail
        if tail.size == 0:
            return base.rowids[: base.size], base.matrix[: base.size], base.codes[: base.size]
        return (
            np.concatenate([base.rowids[: base.size], tail.rowids[: tail.size]]),
            np.concatenate([base.matrix[: base.size], tail.matrix[: tail.size]]),
            np.concatenate([base.codes[: base.size], tail.codes[: tail.size]]),
        )

    def lookup(self, rowids: list[int]) -> dict[int, np.ndarray]:
        wanted = np.asarray(rowids, dtype=np.int64)
        found, at = self._base_positions(wanted)
        rows = np.asarray(self.base.matrix[at], dtype=np.float32)  # one gather, not a memmap view per row
        vectors = dict(zip(found.tolist(), rows, strict=True))
        tail = self.tail
        hits = np.flatnonzero(np.isin(tail.rowids[: tail.size], wanted))
        vectors.update(zip(tail.rowids[hits].tolist(), np.asarray(tail.matrix[hits], dtype=np.float32), strict=True))
        return vectors


class SqliteVectorIndex:
    """Cosine top-k over one scope's live vectors of one model (vectors are unit length)."""

    def __init__(
        self,
        store: SqliteStore,
        model_id: str,
        dimensions: int,
        threads: int = 2,
        *,
        folder: Path | None = None,
        persist_min_rows: int = PERSIST_MIN_ROWS,
        approx_min_rows: int = APPROX_MIN_ROWS,
        lists_min_rows: int = LISTS_MIN_ROWS,
    ) -> None:
        self._store = store
        self._threads = max(1, threads)
        self.model_id = model_id
        self._dimensions = dimensions
        self._scopes: dict[tuple[str, str], _ScopeVectors] = {}
        #: The database's change sequence when each scope was last synced outside a transaction.
        self._synced_at: dict[tuple[str, str], int] = {}
        self._files = IndexFiles(folder, store.database_instance()) if folder is not None else None
        self._persist_min_rows = persist_min_rows
        self._approx_min_rows = approx_min_rows
        self._lists_min_rows = max(lists_min_rows, approx_min_rows)
        #: Serialises syncs (reading changes, applying them, writing files); searches do not take it.
        self._sync_lock = threading.Lock()
        self._rw = ReadWriteLock()

    # -- loading -----------------------------------------------------------------------------------

    def _write(
        self,
        path: Path,
        seq: int,
        anchors: Anchors,
        rowids: np.ndarray,
        matrix: np.ndarray,
        center: np.ndarray,
        lists: Lists | None = None,
        listed: int = 0,
    ) -> bool:
        """Write an index file of these rows, list by list when the scope is large enough for lists;
        False when the disk refuses (full, read-only): the file is only a cache.

        ``lists`` are the lists of the first ``listed`` rows (the base's, on a rewrite): their
        centroids are kept while the scope stays within twice the size they were trained at, and
        only the other rows are assigned to them.
        """
        assert self._files is not None
        file_lists: Lists | None = None
        chunks: Iterator[tuple[np.ndarray, np.ndarray]] = iter([(rowids, matrix)])
        if len(rowids) >= self._lists_min_rows:
            if lists is not None and lists.keeps(len(rowids)):
                centroids, trained = lists.centroids, lists.trained_rows
                list_ids = np.concatenate([lists.list_ids(listed), assign(matrix[listed:], centroids)])
            else:
                centroids, trained = train(matrix, list_count(len(rowids))), len(rowids)
                list_ids = assign(matrix, centroids)
            file_lists = Lists.as_written(centroids, starts_of(list_ids, len(centroids)), trained)
            chunks = _by_list(rowids, matrix, list_ids)
        try:
            self._files.write(path, self.model_id, self._dimensions, seq, anchors, chunks, center, file_lists)
        except (OSError, StorageError):
            return False
        return True

    def _anchor(self, account: str, scope: str) -> Callable[[int], Anchors]:
        return lambda seq: self._store.vector_anchors(account, scope, seq)

    def _far_behind(self, account: str, scope: str, seq: int, size: int) -> bool:
        """Whether replaying the changes since ``seq`` would cost more than reading the scope in bulk."""
        return self._store.changed_since(account, scope, seq) >= max(RELOAD_MIN_CHANGES, size)

    def _load(self, account: str, scope: str) -> _ScopeVectors:
        """A scope's vectors from its index file when one can be trusted, else rebuilt from the store."""
        dims = self._dimensions
        high = self._store.vector_high_seq(account, scope)
        if self._files is not None:
            path = self._files.path(account, scope, self.model_id)
            opened = self._files.open(path, self.model_id, dims, high, self._anchor(account, scope))
            if opened is not None and not self._far_behind(account, scope, opened.seq, opened.base.size):
                return self._mapped(opened)
        # Rebuild: ``high`` is read before the rows, so a write landing in between is re-applied
        # by the next sync (upserts and removals are idempotent) rather than missed.
        chunks = self._store.live_vector_chunks(account, scope, self.model_id, dims)
        parts = [(rowids, matrix.astype(DTYPE)) for rowids, matrix in chunks]
        rowids = np.concatenate([r for r, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
        matrix = np.concatenate([m for _, m in parts]) if parts else np.zeros((0, dims), dtype=DTYPE)
        del parts
        center = mean_row([matrix], dims)
        if (
            self._files is not None
            and len(rowids) >= self._persist_min_rows
            and not self._store.database.has_pending_writes()
        ):
            path = self._files.path(account, scope, self.model_id)
            anchors = self._store.vector_anchors(account, scope, high)
            written = self._write(path, high, anchors, rowids, matrix, center)
            opened = (
                self._files.open(path, self.model_id, dims, high, self._anchor(account, scope)) if written else None
            )
            if opened is not None:
                return self._mapped(opened)
        return _ScopeVectors(dims, high, in_memory_segment(rowids, matrix, center), empty_segment(dims), center)

    def _mapped(self, opened: Opened) -> _ScopeVectors:
        """A scope's vectors as of its index file: the file's rows, nothing changed since."""
        empty = empty_segment(self._dimensions)
        seq = opened.seq
        return _ScopeVectors(self._dimensions, seq, opened.base, empty, opened.center, opened.lists, file_seq=seq)

    def _rewrite_if_due(self, account: str, scope: str, entry: _ScopeVectors) -> _ScopeVectors:
        """Write the scope's rows to its index file once enough changed since the last one."""
        if self._files is None or entry.size < self._persist_min_rows:
            return entry
        due = entry.file_seq < 0 or entry.changed_since_file >= max(REWRITE_MIN_CHANGES, REWRITE_SHARE * entry.size)
        if not due:
            return entry
        path = self._files.path(account, scope, self.model_id)
        rowids, matrix, _ = entry.flat()
        anchors = self._store.vector_anchors(account, scope, entry.seq)
        # The rewrite re-centres the sign bits on the rows as they are now.
        center = mean_row([matrix], self._dimensions)
        if not self._write(path, entry.seq, anchors, rowids, matrix, center, entry.lists, entry.base.size):
            entry.file_seq = entry.seq  # try again after as many changes, not on every sync
            entry.changed_since_file = 0
            return entry
        opened = self._files.open(path, self.model_id, self._dimensions, entry.seq, self._anchor(account, scope))
        if opened is None:
            return entry
        return self._mapped(opened)

    def _sync(self, account: str, scope: str) -> _ScopeVectors:
        """The scope's vectors as of now; call under ``_sync_lock``."""
        key = (account, scope)
        entry = self._scopes.get(key)
        pending = self._store.database.has_pending_writes()
        if not pending:
            # Every write, from any process, moves the database's change sequence: while it stands
            # where it stood when this scope was last synced, there is nothing to read (one lookup
            # instead of three queries; a search syncs up to three times).
            sequence = self._store.change_sequence()
            if entry is not None and self._synced_at.get(key) == sequence:
                return entry
        if entry is not None and not pending:
            if self._far_behind(account, scope, entry.seq, entry.size):
                with self._rw.write():
                    del self._scopes[key]
                entry = None
        if entry is None:
            entry = self._load(account, scope)
            if self._store.database.has_pending_writes():
                # A rebuild inside a transaction that wrote may show rows a rollback would undo.
                changes, high = self._store.vector_changes(account, scope, entry.seq, self.model_id)
                entry.apply(changes, high)
                return entry
            with self._rw.write():
                self._scopes[key] = entry
        changes, high = self._store.vector_changes(account, scope, entry.seq, self.model_id)
        if self._store.database.has_pending_writes():
            # This thread's transaction shows its own writes, which a rollback could undo: they go
            # into a copy for this call only, so the shared matrices only ever hold committed rows.
            # (The engine searches before it writes, so its writes never pay for the copy.)
            if changes:
                entry = entry.copy()
                entry.apply(changes, high)
            return entry
        if changes or high != entry.seq:
            with self._rw.write():
                entry.apply(changes, high)
                fresh = self._rewrite_if_due(account, scope, entry)
                self._scopes[key] = fresh
                entry = fresh
        self._synced_at[key] = sequence
        return entry

    # -- queries -----------------------------------------------------------------------------------

    def search(
        self, account: str, scope: str, query: np.ndarray, k: int, *, exact: bool = False
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the ``k`` nearest live memories, nearest first.

        ``exact`` scans every row even in a scope large enough for the approximate search (what
        bench/perf.py measures its recall against).
        """
        return self.search_many(account, scope, query[None, :], k, exact=exact)[0]

    def search_many(
        self, account: str, scope: str, queries: np.ndarray, k: int, *, exact: bool = False
    ) -> list[list[tuple[int, float]]]:
        """:meth:`search` for each row of ``queries``, scanning the scope's matrix once per 64 queries."""
        with self._sync_lock:
            entry = self._sync(account, scope)
        if entry.size == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        with self._rw.read():
            segments = [s for s in entry.segments() if s.size]
            if exact or entry.size < self._approx_min_rows:
                return self._exact(segments, queries, k)
            if entry.lists is not None:
                return self._listed(entry, queries, k)
            return self._approximate(segments, entry.center, queries, k)

    def _exact(self, segments: list[Segment], queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        rowids = _joined([s.rowids[: s.size] for s in segments])
        results: list[list[tuple[int, float]]] = []
        for start in range(0, len(queries), QUERY_BATCH):
            chunk = queries[start : start + QUERY_BATCH].astype(DTYPE)
            threads = self._threads if len(chunk) * len(rowids) >= PARALLEL_DOT_PAIRS else 1
            table = _joined(
                [
                    np.asarray(
                        simsimd.cdist(chunk, s.matrix[: s.size], metric="dot", threads=threads), dtype=np.float32
                    ).reshape(len(chunk), s.size)
                    for s in segments
                ],
                axis=1,
            )
            results.extend(_top(scores, rowids, k) for scores in table)
        return results

    def _approximate(
        self, segments: list[Segment], center: np.ndarray, queries: np.ndarray, k: int
    ) -> list[list[tuple[int, float]]]:
        """Hamming scan of the sign bits, then exact float16 scores of the :func:`rescored` closest rows."""
        wanted = rescored(sum(s.size for s in segments), k)
        offsets = np.cumsum([0] + [s.size for s in segments])
        results: list[list[tuple[int, float]]] = []
        for start in range(0, len(queries), APPROX_QUERY_BATCH):
            chunk = queries[start : start + APPROX_QUERY_BATCH].astype(DTYPE)
            bits = signs(chunk, center)
            table = _joined([_hamming(bits, s.codes[: s.size], self._threads) for s in segments], axis=1)
            for query, distances in zip(chunk, table, strict=True):
                near = _closest(distances, wanted)
                # Each segment's share of ``near``, as positions within it (``near`` is ascending).
                bounds = np.searchsorted(near, offsets)
                picks = [near[lo:hi] - at for lo, hi, at in zip(bounds[:-1], bounds[1:], offsets[:-1], strict=True)]
                results.append(_rescored_top(query, segments, picks, k))
        return results

    def _listed(self, entry: _ScopeVectors, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """:meth:`_approximate` over the base rows of the lists nearest each query, and the whole tail."""
        assert entry.lists is not None
        base, tail = entry.segments()
        wanted = rescored(entry.size, k)
        results: list[list[tuple[int, float]]] = []
        for query in queries.astype(DTYPE):
            probed = entry.lists.probed(query)
            bits = signs(query[None, :], entry.center)
            distances = _hamming(bits, np.take(base.codes, probed, axis=0), self._threads)[0]
            if tail.size:
                distances = np.concatenate([distances, _hamming(bits, tail.codes[: tail.size], self._threads)[0]])
            near = _closest(distances, wanted)
            split = int(np.searchsorted(near, len(probed)))
            picks = [probed[near[:split]], near[split:] - len(probed)]
            results.append(_rescored_top(query, [base, tail], picks, k))
        return results

    def vectors(self, account: str, scope: str, rowids: list[int]) -> dict[int, np.ndarray]:
        """The cached vectors of ``rowids`` (those the scope holds)."""
        with self._sync_lock:
            entry = self._sync(account, scope)
        with self._rw.read():
            return entry.lookup(rowids)

    def size(self, account: str, scope: str) -> int:
        with self._sync_lock:
            return self._sync(account, scope).size

    def forget(self, account: str | None = None) -> None:
        """Drop cached matrices (all, or one account's); they reload from their files or the store on demand."""
        with self._sync_lock, self._rw.write():
            for key in [k for k in self._scopes if account is None or k[0] == account]:
                del self._scopes[key]
