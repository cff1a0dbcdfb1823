"""A namespace as the plaintext of a sync blob, and the pull's merge of one into a local namespace.

The plaintext is JSON Lines: a first line ``{"snapshot": 1, "namespace", "memories", "model",
"dimensions"}``, then one live memory a line with its id, times (ms), and its vector (base64 float32)
so a pull on a machine with the same model embeds nothing.

Merge rules (the seed's "pull is additive"): a memory is the same memory when it has the same id, or,
for a keyed memory, the same key. A new one is added with its id and times; an existing one takes the
remote value, metadata and importance only when the remote ``updated_at`` is later, and its old state
goes to history; anything only local is untouched; an unkeyed memory whose exact text is already live
here is skipped. All of it is one transaction.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..engine import validation as v
from ..engine.dedup import content_hash
from ..engine.writes import history_entry, index_terms
from ..errors import IntegrityError, InvalidRequest
from ..types import MemoryRecord, now_ms

if TYPE_CHECKING:
    from ..engine import Engine

SNAPSHOT_VERSION = 1
BATCH = 500
Progress = Callable[[int, int], None]


def write_snapshot(engine: Engine, scope: str, out: IO[bytes], progress: Progress | None = None) -> int:
    """Write the live memories of ``scope`` to ``out``; returns how many."""
    total = engine.count(scope)
    head = {
        "snapshot": SNAPSHOT_VERSION,
        "namespace": scope,
        "memories": total,
        "model": engine.embedder.model_id,
        "dimensions": engine.embedder.dimensions,
    }
    out.write(json.dumps(head).encode("utf-8") + b"\n")
    done = 0
    batch: list[MemoryRecord] = []

    def flush() -> None:
        nonlocal done
        vectors = engine.store.vectors_of(engine.account, [r.id for r in batch])
        for r in batch:
            model, vector = vectors.get(r.id, (None, None))
            line = {
                "id": r.id,
                "key": r.key,
                "value": r.value,
                "metadata": r.metadata,
                "importance": r.importance,
                "source": r.source,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "expires_at": r.expires_at,
                "model": model,
                "vector": None if vector is None else base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode(),
            }
            out.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        done += len(batch)
        batch.clear()
        if progress:
            progress(done, total)

    for record in engine.store.iter_records(engine.account, scope):
        batch.append(record)
        if len(batch) == BATCH:
            flush()
    flush()
    return done


@dataclass
class Merged:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped}


@dataclass
class _Remote:
    record: MemoryRecord
    vector: np.ndarray | None


def _lines(plaintext: IO[bytes], scope: str, model: str, dims: int) -> Iterator[tuple[int, int, _Remote]]:
    first = plaintext.readline()
    try:
        head = json.loads(first)
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("snapshot") != SNAPSHOT_VERSION:
        raise IntegrityError(f"the sync blob holds no snapshot of format {SNAPSHOT_VERSION}")
    if head.get("namespace") != scope:
        raise IntegrityError(f"the sync blob holds namespace {head.get('namespace')!r}, not {scope!r}")
    total = int(head.get("memories") or 0)
    for number, line in enumerate(plaintext, start=2):
        try:
            data = json.loads(line)
            remote = _remote(data, scope, model, dims)
        except (ValueError, TypeError, KeyError) as exc:
            message = exc.message if isinstance(exc, InvalidRequest) else str(exc)
            raise IntegrityError(f"sync snapshot line {number}: {message}") from None
        yield number - 1, total, remote


def _remote(data: dict[str, Any], scope: str, model: str, dims: int) -> _Remote:
    created = v.integer(data["created_at"], "created_at", limits.TIME_MS)
    record = MemoryRecord(
        id=v.memory_id(data["id"]),
        scope=scope,
        key=None if data.get("key") is None else v.key(data["key"]),
        value=v.memory_value(data["value"]),
        metadata=v.metadata(data.get("metadata")),
        importance=v.unit_interval(data.get("importance", 0.5), "importance"),
        source=str(data.get("source") or "imported"),
        status="ready",
        created_at=created,
        updated_at=max(created, v.integer(data["updated_at"], "updated_at", limits.TIME_MS)),
        content_hash="",
        model=model,
        expires_at=None
        if data.get("expires_at") is None
        else v.integer(data["expires_at"], "expires_at", limits.TIME_MS),
    )
    record = replace(record, content_hash=content_hash(record.value))
    vector = None
    if data.get("model") == model and isinstance(data.get("vector"), str):
        found = np.frombuffer(base64.b64decode(data["vector"], validate=True), "<f4")
        vector = found.astype(np.float32) if found.shape == (dims,) else None
    return _Remote(record, vector)


def merge_snapshot(engine: Engine, scope: str, plaintext: IO[bytes], progress: Progress | None = None) -> Merged:
    """Upsert a verified snapshot into ``scope`` by the rules above, in one transaction."""
    scope = v.scope(scope)
    out = Merged()
    model, dims = engine.embedder.model_id, engine.embedder.dimensions
    store, account = engine.store, engine.account
    batch: list[_Remote] = []

    def flush(done: int, total: int) -> None:
        texts = list(dict.fromkeys(r.record.value for r in batch if r.vector is None))
        embedded = dict(zip(texts, engine.embedder.embed(texts), strict=True)) if texts else {}
        for remote in batch:
            _merge_one(store, account, remote, embedded, out)
        batch.clear()
        if progress:
            progress(done, total)

    with store.transaction():
        done = total = 0
        for done, total, remote in _lines(plaintext, scope, model, dims):
            batch.append(replace(remote, record=replace(remote.record, account=account)))
            if len(batch) == BATCH:
                flush(done, total)
        flush(done, total)
        store.touch_scope(account, scope)
    return out


def _merge_one(store: Any, account: str, remote: _Remote, embedded: dict[str, np.ndarray], out: Merged) -> None:
    theirs = remote.record
    if theirs.expires_at is not None and theirs.expires_at <= now_ms():
        out.skipped += 1  # expired since the push: never written (as import and install do)
        return
    mine = store.get(account, theirs.id)
    if mine is None and theirs.key is not None:
        mine = store.get_by_key(account, theirs.scope, theirs.key)
    if mine is not None and mine.scope != theirs.scope:
        out.skipped += 1  # the id lives in another local namespace: leave both alone
        return
    if mine is None:
        if theirs.key is None and store.find_by_hashes(account, theirs.scope, [theirs.content_hash]):
            out.skipped += 1
            return
        vector = remote.vector if remote.vector is not None else embedded[theirs.value]
        store.insert(theirs, vector, index_terms(theirs))
        out.added += 1
        return
    same = (mine.value, mine.metadata, mine.importance, mine.expires_at) == (
        theirs.value,
        theirs.metadata,
        theirs.importance,
        theirs.expires_at,
    )
    if same or theirs.updated_at <= mine.updated_at or mine.superseded_by is not None:
        out.unchanged += 1
        return
    store.add_history(history_entry(mine, "updated", None), account)
    changed = mine.value != theirs.value
    new_vector = (remote.vector if remote.vector is not None else embedded[theirs.value]) if changed else None
    record = replace(
        mine,
        value=theirs.value,
        metadata=theirs.metadata,
        importance=theirs.importance,
        updated_at=theirs.updated_at,
        expires_at=theirs.expires_at,
        content_hash=theirs.content_hash,
        model=theirs.model if changed else mine.model,
    )
    store.replace(record, new_vector, index_terms(record) if changed else None)
    out.updated += 1
