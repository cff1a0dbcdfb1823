"""The index file of one scope's vectors, and the segments of rows it maps.

Layout and the checks that decide whether a file can be trusted are described on
:class:`IndexFiles`; what the sign bits are for is in vectors.py, the lists in vector_lists.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...files import PRIVATE_FILE, private_dir
from .vector_lists import Lists

DTYPE = np.float16

#: Index file layout version; any other value is rebuilt (2: no lists).
FILE_FORMAT = 3
_HEADER_BYTES = 4096
_MAGIC = b"MLVX"


def signs(matrix: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Each row's signs about ``center`` as packed bits (1 above it): what the Hamming scan compares.

    Embeddings share a common direction (the scope's mean is about 0.3 long for MiniLM), which
    makes raw signs agree more than the rows do; signs about the mean separate them better
    (recall@10 0.975 against 0.947 from 8,000 rescored rows at 1M).
    """
    return np.packbits(np.asarray(matrix) > center, axis=-1)


def mean_row(parts: list[np.ndarray], dimensions: int) -> np.ndarray:
    """The mean of the rows of ``parts`` (float16 matrices), accumulated in float32: the sign bits' center."""
    rows = sum(len(part) for part in parts)
    if not rows:
        return np.zeros(dimensions, dtype=DTYPE)
    total = sum((part.sum(axis=0, dtype=np.float32) for part in parts), np.zeros(dimensions, dtype=np.float32))
    return (total / rows).astype(DTYPE)


@dataclass
class Segment:
    """Rows ``[0, size)`` of a matrix, their sign bits and rowids; the base segment may be a file mapping."""

    rowids: np.ndarray
    matrix: np.ndarray
    size: int
    codes: np.ndarray

    def grow(self, dimensions: int) -> None:
        capacity = max(64, 2 * self.size)
        matrix = np.zeros((capacity, dimensions), dtype=DTYPE)
        rowids = np.zeros(capacity, dtype=np.int64)
        codes = np.zeros((capacity, self.codes.shape[1]), dtype=np.uint8)
        matrix[: self.size] = self.matrix[: self.size]
        rowids[: self.size] = self.rowids[: self.size]
        codes[: self.size] = self.codes[: self.size]
        self.matrix, self.rowids, self.codes = matrix, rowids, codes

    def put(self, at: int, rowid: int, vector: np.ndarray, center: np.ndarray) -> None:
        self.rowids[at] = rowid
        self.matrix[at] = vector
        self.codes[at] = signs(vector, center)


def code_bytes(dimensions: int) -> int:
    return (dimensions + 7) // 8


def empty_segment(dimensions: int) -> Segment:
    return Segment(
        np.zeros(0, dtype=np.int64),
        np.zeros((0, dimensions), dtype=DTYPE),
        0,
        np.zeros((0, code_bytes(dimensions)), dtype=np.uint8),
    )


def in_memory_segment(rowids: np.ndarray, matrix: np.ndarray, center: np.ndarray) -> Segment:
    return Segment(rowids, matrix, len(rowids), signs(matrix, center))


#: (memory id, seq) of the scope's latest memories at a sequence number, then ("", deletes by then).
Anchors = list[tuple[str, int]]


@dataclass
class Opened:
    """A trusted index file's rows (a copy-on-write mapping), sequence number, sign center and lists."""

    base: Segment
    seq: int
    center: np.ndarray
    lists: Lists | None


def same_history(recorded: object, now: Anchors) -> bool:
    """Whether the database still tells the history an index file was written from.

    In that history the memories last written by the file's sequence number can only leave that set
    (updated or deleted later), and the count of deletes by then never changes. So: the deletes
    match, one recorded memory is still where it was, and every memory the database now has between
    the oldest recorded one and the file's number is a recorded one.
    """
    if not isinstance(recorded, list) or not recorded:
        return False
    try:
        pairs = [(str(item[0]), int(item[1])) for item in recorded]
    except (TypeError, ValueError, IndexError):
        return False
    *memories, deletes = pairs
    *current, current_deletes = now
    if deletes != current_deletes:
        return False
    if not memories:
        return not current
    known = set(memories)
    oldest = min(seq for _, seq in memories)
    return any(pair in known for pair in current) and all(pair in known for pair in current if pair[1] >= oldest)


class IndexFiles:
    """The ``<database>.vectors/`` folder: one file per (account, scope, model), written by rename.

    Layout: a 4 KiB header (magic, then JSON: format, database instance, model, dimensions, seq,
    anchors (the scope's latest memories and deletes as of seq, :func:`same_history`), rows, lists,
    trained), the float16 matrix from byte 4096, then the int64 rowids, then each row's sign bits
    (:func:`signs`), then their float16 center; and when ``lists`` is not 0, the float32 centroids
    and the int64 starts of the lists (rows are then written list by list).
    """

    def __init__(self, folder: Path, instance: int) -> None:
        self.folder = folder
        self.instance = instance

    def path(self, account: str, scope: str, model_id: str) -> Path:
        digest = hashlib.sha256("\0".join((account, scope, model_id)).encode()).hexdigest()[:32]
        return self.folder / f"{digest}.mlvx"

    def _header(
        self, model_id: str, dimensions: int, seq: int, rows: int, anchors: Anchors, lists: Lists | None
    ) -> bytes:
        meta = {
            "anchors": anchors,
            "format": FILE_FORMAT,
            "instance": self.instance,
            "model": model_id,
            "dimensions": dimensions,
            "seq": seq,
            "rows": rows,
            "lists": 0 if lists is None else len(lists.centroids),
            "trained": 0 if lists is None else lists.trained_rows,
        }
        return (_MAGIC + json.dumps(meta).encode()).ljust(_HEADER_BYTES, b"\0")

    def write(
        self,
        path: Path,
        model_id: str,
        dimensions: int,
        seq: int,
        anchors: Anchors,
        chunks: Iterator[tuple[np.ndarray, np.ndarray]],
        center: np.ndarray,
        lists: Lists | None = None,
    ) -> None:
        """Stream (rowids, rows) chunks into ``path`` through a temporary file and a rename (with
        ``lists``, the chunks come list by list)."""
        private_dir(self.folder)  # the vectors say what the memories say: as private as the database
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        rowid_parts: list[np.ndarray] = []
        code_parts: list[np.ndarray] = []
        rows = 0
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            os.fchmod(descriptor, PRIVATE_FILE)
            with os.fdopen(descriptor, "wb") as out:
                out.write(self._header(model_id, dimensions, seq, 0, anchors, lists))
                for rowids, matrix in chunks:
                    out.write(np.ascontiguousarray(matrix, dtype=DTYPE).tobytes())
                    rowid_parts.append(np.asarray(rowids, dtype=np.int64))
                    code_parts.append(signs(matrix, center))
                    rows += len(rowids)
                parts = [*rowid_parts, *code_parts, np.asarray(center, dtype=DTYPE)]
                if lists is not None:
                    parts += [lists.centroids.astype(np.float32), lists.starts.astype(np.int64)]
                for part in parts:
                    out.write(np.ascontiguousarray(part).tobytes())
                out.seek(0)
                out.write(self._header(model_id, dimensions, seq, rows, anchors, lists))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    def open(
        self, path: Path, model_id: str, dimensions: int, high_seq: int, anchors_at: Callable[[int], Anchors]
    ) -> Opened | None:
        """The file's rows, sequence number, sign center and lists, or None when it cannot be trusted.

        ``anchors_at(seq)`` is what the store says of the scope's history up to ``seq`` (see
        :func:`same_history`).
        """
        try:
            with open(path, "rb") as src:
                header = src.read(_HEADER_BYTES)
            size_on_disk = path.stat().st_size
        except OSError:
            return None
        if len(header) != _HEADER_BYTES or not header.startswith(_MAGIC):
            return None
        try:
            meta = json.loads(header[len(_MAGIC) :].rstrip(b"\0"))
        except ValueError:
            return None
        rows, seq, lists, trained = (meta.get(key) for key in ("rows", "seq", "lists", "trained"))
        if not (isinstance(rows, int) and isinstance(seq, int) and isinstance(lists, int) and isinstance(trained, int)):
            return None
        rows_end = _HEADER_BYTES + rows * (2 * dimensions + 8 + code_bytes(dimensions)) + 2 * dimensions
        if (
            meta.get("format") != FILE_FORMAT
            or meta.get("instance") != self.instance
            or meta.get("model") != model_id
            or meta.get("dimensions") != dimensions
            or seq > high_seq  # written from a later state than this database has: not this history
            or lists < 0
            or size_on_disk != rows_end + (lists * 4 * dimensions + (lists + 1) * 8 if lists else 0)
            or not same_history(meta.get("anchors"), anchors_at(seq))
        ):
            return None
        center = np.fromfile(path, dtype=DTYPE, count=dimensions, offset=rows_end - 2 * dimensions)
        listed = self._lists(path, rows_end, rows, dimensions, lists, trained) if lists else None
        if lists and listed is None:
            return None
        if rows == 0:
            return Opened(empty_segment(dimensions), seq, center, None)
        matrix = np.memmap(path, dtype=DTYPE, mode="c", offset=_HEADER_BYTES, shape=(rows, dimensions))
        at = _HEADER_BYTES + rows * 2 * dimensions
        rowids = np.memmap(path, dtype=np.int64, mode="c", offset=at, shape=(rows,))
        shape = (rows, code_bytes(dimensions))
        codes = np.memmap(path, dtype=np.uint8, mode="c", offset=at + rows * 8, shape=shape)
        return Opened(Segment(rowids, matrix, rows, codes), seq, center, listed)

    @staticmethod
    def _lists(path: Path, at: int, rows: int, dimensions: int, lists: int, trained: int) -> Lists | None:
        """The lists stored from byte ``at``, or None when their starts do not cover the rows in order."""
        centroids = np.fromfile(path, dtype=np.float32, count=lists * dimensions, offset=at).reshape(lists, dimensions)
        starts = np.fromfile(path, dtype=np.int64, count=lists + 1, offset=at + lists * 4 * dimensions)
        if starts[0] != 0 or starts[-1] != rows or bool(np.any(np.diff(starts) < 0)):
            return None
        return Lists.as_written(centroids, starts, trained)
