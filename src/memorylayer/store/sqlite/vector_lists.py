"""Inverted lists over a large scope's index file: which rows a search reads at all.

A scope of at least ``lists_min_rows`` (vectors.py) has its rows grouped around centroids found by
spherical k-means on a sample, and its index file holds the rows list by list. A search ranks the
centroids against the query and reads the sign bits of the nearest lists only (those holding
:data:`PROBE_SHARE` of the rows), then rescores the closest of those exactly, as the full sign-bit
scan does. At 1M that reads
3 MB of sign bits instead of 48 MB (docs/benchmarks.md has the time and the recall).

The lists describe the file's rows as written. A row deleted later leaves its list (the base's last
row moves into its hole and takes its place in its own list); a row replaced later leaves the base and
joins the tail, which every search reads whole. The next rewrite of the file puts the tail's rows
into their nearest lists, keeping the centroids, and trains new ones only once the scope has doubled
or halved since they were trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Rows a search reads the sign bits of: this share of the scope, and at least PROBE_MIN_ROWS (a search
#: needs enough lists as well as enough rows). Recall@10 against the exact scan 0.99 at 100k (12.5 %,
#: 316 lists) and 1M (6.25 %, 1,000 lists); at 100k 6.25 % gave 0.955 (docs/benchmarks.md).
PROBE_SHARE = 1 / 16
PROBE_MIN_ROWS = 12_000
#: Rows sampled per centroid to train on, and Lloyd rounds: training stays a few seconds at 1M.
TRAIN_ROWS_PER_LIST = 32
TRAIN_ROUNDS = 8
#: Rows scored against the centroids per matrix product when assigning (bounds the score table).
ASSIGN_BATCH = 65_536


def list_count(rows: int) -> int:
    """About the square root of the scope's size: lists of ~1,000 rows at 1M."""
    return max(16, round(math.sqrt(rows)))


def train(matrix: np.ndarray, lists: int, seed: int = 0) -> np.ndarray:
    """Unit-length centroids of ``lists`` groups of ``matrix``'s rows (spherical k-means on a sample)."""
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(matrix), min(len(matrix), TRAIN_ROWS_PER_LIST * lists), replace=False))
    sample = np.asarray(matrix[picked], dtype=np.float32)
    lists = min(lists, len(sample))
    centroids = sample[rng.choice(len(sample), lists, replace=False)]
    for _ in range(TRAIN_ROUNDS):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        empty = np.bincount(nearest, minlength=lists) == 0
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]  # restart an empty list on a random row
        centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return centroids.astype(np.float32)


def assign(matrix: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each row (int32)."""
    if not len(matrix):
        return np.zeros(0, dtype=np.int32)
    return np.concatenate(
        [
            np.argmax(np.asarray(matrix[at : at + ASSIGN_BATCH], dtype=np.float32) @ centroids.T, axis=1)
            for at in range(0, len(matrix), ASSIGN_BATCH)
        ]
    ).astype(np.int32)


def starts_of(list_ids: np.ndarray, lists: int) -> np.ndarray:
    """Where each list begins among rows sorted by list, and where the last ends (``lists + 1`` int64)."""
    return np.concatenate([[0], np.cumsum(np.bincount(list_ids, minlength=lists))]).astype(np.int64)


@dataclass
class Lists:
    """The lists of a base segment whose rows were written list by list.

    ``order[r]`` is the base position of the row at rank ``r`` (list ``l`` holds ranks
    ``starts[l]`` to ``starts[l + 1]``), -1 once that row left the base; ``ranks`` is its inverse.
    Both start as the identity: the file holds the rows in list order.
    """

    centroids: np.ndarray
    starts: np.ndarray
    #: Scope size when the centroids were trained (a rewrite retrains once it doubled or halved).
    trained_rows: int
    order: np.ndarray
    ranks: np.ndarray

    @classmethod
    def as_written(cls, centroids: np.ndarray, starts: np.ndarray, trained_rows: int) -> Lists:
        rows = int(starts[-1])
        return cls(centroids, starts, trained_rows, np.arange(rows, dtype=np.int64), np.arange(rows, dtype=np.int64))

    def probed(self, query: np.ndarray) -> np.ndarray:
        """Base positions of the rows in the lists nearest ``query``, list by list: the nearest lists
        that together hold the rows :data:`PROBE_SHARE` asks for (counted in rows, not lists: lists
        are uneven, and a query near a dense region would otherwise read more)."""
        ranked = np.argsort(-(self.centroids @ np.asarray(query, dtype=np.float32)))
        held = np.cumsum(self.starts[ranked + 1] - self.starts[ranked])
        budget = max(PROBE_SHARE * held[-1], PROBE_MIN_ROWS)
        count = min(len(ranked), int(np.searchsorted(held, budget)) + 1)
        nearest = np.sort(ranked[:count])
        positions = np.concatenate([self.order[self.starts[n] : self.starts[n + 1]] for n in nearest])
        positions = positions[positions >= 0]
        # Deletes can empty the nearest lists (their rows are counted as written): then read every list.
        return positions if len(positions) else self.order[self.order >= 0]

    def removed(self, at: int, last: int) -> None:
        """The base row at ``at`` left; the row at ``last`` (the base's last) moved into its place."""
        rank = self.ranks[at]
        if rank >= 0:
            self.order[rank] = -1
        moved = self.ranks[last] if last != at else -1
        self.ranks[at] = moved
        if moved >= 0:
            self.order[moved] = at
        self.ranks[last] = -1

    def list_ids(self, size: int) -> np.ndarray:
        """The list of each of the base's first ``size`` positions (every live base row is in one)."""
        return (np.searchsorted(self.starts, self.ranks[:size], side="right") - 1).astype(np.int32)

    def keeps(self, rows: int) -> bool:
        """Whether a rewrite of ``rows`` rows keeps these centroids instead of training new ones."""
        return self.trained_rows / 2 <= rows <= 2 * self.trained_rows
