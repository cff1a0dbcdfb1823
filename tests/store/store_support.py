"""What the conformance tests share: the database under test, and small deterministic memories and vectors.

Vectors are unit-length float32 of the embedder's dimension made from a seed, so the suite needs no
model; terms are passed to the store as the engine would (already analysed).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memorylayer.store import Backend, Store, open_backend
from memorylayer.types import MemoryRecord

DIMENSIONS = 384
MODEL = "conformance-model"
ACCOUNT = "acct-a"
OTHER_ACCOUNT = "acct-b"
SCOPE = "notes"


@dataclass(frozen=True)
class DatabaseUnderTest:
    """A fresh database of one backend kind."""

    kind: str
    url: str
    #: Names recorded as applied, in the order they were applied.
    applied_migrations: Callable[[], list[str]]

    def open(self) -> Backend:
        """Another backend on this database, as a second process (or replica) would open it."""
        return open_backend(self.url)


def unit(seed: int | str) -> np.ndarray:
    """A deterministic random unit vector."""
    if isinstance(seed, str):
        seed = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def toward(target: np.ndarray, seed: int, cosine: float) -> np.ndarray:
    """A unit vector whose cosine with the unit vector ``target`` is ``cosine``."""
    noise = unit(seed)
    orthogonal = noise - float(noise @ target) * target
    orthogonal /= np.linalg.norm(orthogonal)
    vector = cosine * target + np.sqrt(1 - cosine**2) * orthogonal
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def content_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def memory(
    value: str,
    *,
    key: str | None = None,
    scope: str = SCOPE,
    account: str = ACCOUNT,
    at: int = 1_000,
    updated_at: int | None = None,
    importance: float = 0.5,
    source: str = "explicit",
    metadata: dict[str, Any] | None = None,
    model: str | None = MODEL,
    memory_id: str | None = None,
) -> MemoryRecord:
    """A new live memory record (what the engine hands the store to insert)."""
    return MemoryRecord(
        id=memory_id or str(uuid.uuid4()),
        scope=scope,
        key=key,
        value=value,
        metadata=metadata or {},
        importance=importance,
        source=source,
        status="ready",
        created_at=at,
        updated_at=at if updated_at is None else updated_at,
        content_hash=content_hash(value),
        model=model,
        account=account,
    )


def terms(value: str) -> list[str]:
    """Index terms as the engine would pass them (here: lower-cased words)."""
    return value.lower().split()


def put(store: Store, value: str, *, vector: np.ndarray | None = None, **fields: Any) -> tuple[int, MemoryRecord]:
    """Insert a memory (vector from its value unless given); returns its row number and record."""
    record = memory(value, **fields)
    rowid = store.insert(record, unit(value) if vector is None else vector, terms(value))
    return rowid, record


def ids(records: Sequence[MemoryRecord]) -> list[str]:
    return [r.id for r in records]
