"""The write path: validated memories are embedded outside any lock, then written in one transaction.

:func:`prepare` checks and embeds (no database lock held, so other writers are never kept waiting on
the model); :func:`commit` applies the keyed upserts and the dedup rules of :mod:`.dedup` inside one
transaction and, before it commits, hands the number of memories the write adds to an ``admit``
callback, so a quota is checked against the same state the write creates. A partial batch asks a
``room`` callback first, in the same transaction, and refuses the new memories that do not fit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ..errors import NotFound, QuotaExceeded
from ..store.base import Store, VectorIndex
from ..types import AddResult, HistoryEntry, ItemResult, MemoryRecord, NewMemory, now_ms
from .dedup import RELATED, Decision, content_hash, decide, overlap
from .text import analyze

#: Called inside the write's transaction with how many live memories it adds; raise to refuse it.
Admit = Callable[[int], None]
#: Called inside the write's transaction before it writes anything: how many more live memories fit.
#: It takes the lock of what it counts, so the answer holds until the transaction ends.
Room = Callable[[], int]
#: What a refused item of a partial batch says when the quota has no room left for it.
NO_ROOM = "over the memory limit: no room left for another memory"
#: ``similar``: exact and near duplicates (the dedup rules); ``exact``: only identical text; ``none``.
Dedup = Literal["similar", "exact", "none"]


@dataclass(frozen=True)
class Prepared:
    """Memories of one scope, validated and embedded, ready for :func:`commit`.

    ``vectors[i]`` is None where preparing found the memory already stored as it is; commit embeds
    it after all if the state changed in between.
    """

    scope: str
    items: list[NewMemory]
    vectors: list[np.ndarray | None]
    dedup: Dedup = "similar"


@dataclass
class Writer:
    """What a write needs: the account's store, its vector index, the embedder's identity and function."""

    store: Store
    index: VectorIndex
    account: str
    model_id: str
    embed: Callable[[list[str]], np.ndarray]

    def prepare(
        self, scope: str, items: list[NewMemory], dedup: Dedup, embedded: dict[str, np.ndarray] | None = None
    ) -> Prepared:
        """Embed each distinct text once, skipping items already stored exactly as they are.

        One query finds the stored ones; a text that repeats within ``items`` (or is in ``embedded``,
        which the caller may share across batches and which gains the new vectors) is embedded once,
        so re-importing a file, or one with repeated lines, costs no model time.
        """
        known = self._already_stored(scope, items) if dedup != "none" else set()
        todo = [i for i in range(len(items)) if i not in known]
        by_text = embedded if embedded is not None else {}
        texts = [t for t in dict.fromkeys(items[i].value for i in todo) if t not in by_text]
        if texts:
            by_text.update(zip(texts, self.embed(texts), strict=True))
        vectors: list[np.ndarray | None] = [None] * len(items)
        for i in todo:
            vectors[i] = by_text[items[i].value]
        return Prepared(scope, items, vectors, dedup)

    def _already_stored(self, scope: str, items: Sequence[NewMemory]) -> set[int]:
        hashes = self.store.find_by_hashes(self.account, scope, [content_hash(m.value) for m in items])
        found = set()
        for i, item in enumerate(items):
            if item.key is None:
                if content_hash(item.value) in hashes:
                    found.add(i)
            else:
                current = self.store.get_by_key(self.account, scope, item.key)
                if current is not None and current.value == item.value:
                    found.add(i)
        return found

    def commit(self, prepared: Prepared, admit: Admit | None = None, room: Room | None = None) -> AddResult:
        """Write ``prepared`` in one transaction (joining the caller's, if one is open).

        With ``room``, items in order take the room it gives: a new memory that does not fit is
        ``refused`` (``quota_exceeded``); an update, a duplicate or a supersede adds none and fits.
        """
        out = _Outcome()
        with self.store.transaction():
            out.room = None if room is None else max(0, room())
            batch = _BatchDedup(self, prepared) if prepared.dedup != "none" else None
            if batch is None and prepared.items and all(item.key is None for item in prepared.items):
                self._insert_all(prepared, out)  # nothing to compare: the store's bulk path
            else:
                for i, item in enumerate(prepared.items):
                    if item.key is not None:
                        self._upsert_key(prepared.scope, item, i, prepared.vectors[i], out)
                    else:
                        self._store_fact(prepared.scope, item, i, prepared, batch, out)
            if not prepared.items or (not out.memories and not out.skipped and not out.refused):
                self.store.touch_scope(self.account, prepared.scope)
            if admit is not None and out.added > 0:
                admit(out.added)
        return AddResult(
            memories=out.memories,
            skipped=out.skipped,
            superseded=out.superseded,
            duplicates=out.duplicates,
            unchanged=out.unchanged,
            items=out.items,
        )

    def update(
        self,
        memory_id: str,
        vector: np.ndarray | None,
        *,
        value: str | None,
        metadata: dict[str, Any] | None,
        importance: float | None,
        replace_metadata: bool,
    ) -> MemoryRecord:
        """Change a live memory in place (validated input; ``vector`` is the new value's), in one transaction.

        A new value starts a new validity interval and ends the old value's, in history.

        Raises:
            NotFound: no live memory with this id in this account.
        """
        meta = metadata or {}
        with self.store.transaction():
            existing = self.store.get(self.account, memory_id)
            if existing is None or existing.superseded_by is not None:
                raise NotFound(f"memory {memory_id} does not exist")
            new_value = existing.value if value is None else value
            new_metadata = meta if replace_metadata and metadata is not None else {**existing.metadata, **meta}
            new_importance = existing.importance if importance is None else importance
            if (new_value, new_metadata, new_importance) == (existing.value, existing.metadata, existing.importance):
                return existing  # nothing changes: no history entry, no new timestamp
            now = now_ms()
            changed = new_value != existing.value
            since = max(valid_from(existing), now) if changed else valid_from(existing)
            record = replace(
                existing,
                value=new_value,
                metadata=new_metadata,
                importance=new_importance,
                updated_at=max(now, existing.updated_at + 1),
                content_hash=content_hash(new_value),
                model=self.model_id if vector is not None else existing.model,
                valid_from=since,
            )
            entry = history_entry(existing, "updated", None, valid_to=since if changed else None)
            self.store.add_history(entry, self.account)
            terms = index_terms(record) if value is not None else None
            self.store.replace(record, vector, terms)
            return record

    def _vector(self, vector: np.ndarray | None, value: str) -> np.ndarray:
        return vector if vector is not None else self.embed([value])[0]

    def _upsert_key(self, scope: str, item: NewMemory, i: int, vector: np.ndarray | None, out: _Outcome) -> None:
        assert item.key is not None
        existing = self.store.get_by_key(self.account, scope, item.key)
        if existing is None:
            if not out.take_room(i):
                return
            # An expired value a sweep has not purged yet still holds the key in the table.
            self.store.purge_expired(now_ms(), account=self.account, scope=scope, key=item.key)
            record = self.new_record(scope, item)
            self.store.insert(record, self._vector(vector, item.value), index_terms(record))
            out.memories.append(record)
            out.items.append(ItemResult(i, "stored", record.id))
            out.added += 1
            return
        merged = {**existing.metadata, **item.metadata}
        importance = existing.importance if item.importance is None else item.importance
        before = (existing.value, existing.metadata, existing.importance, existing.expires_at)
        if before == (item.value, merged, importance, item.expires_at):
            out.memories.append(existing)
            out.unchanged.append(existing.id)
            out.items.append(ItemResult(i, "unchanged", existing.id))
            return
        # A new value starts its own interval (when it happened, if the item says so); the old
        # value's interval ends there, in history. A change of metadata alone keeps the interval.
        changed = existing.value != item.value
        old_from = valid_from(existing)
        new_from = max(old_from, item.created_at if item.created_at is not None else now_ms()) if changed else old_from
        self.store.add_history(
            history_entry(existing, "updated", None, valid_to=new_from if changed else None), self.account
        )
        new_vector = self._vector(vector, item.value) if changed else None
        record = replace(
            existing,
            value=item.value,
            metadata=merged,
            importance=importance,
            updated_at=max(now_ms(), existing.updated_at + 1),
            content_hash=content_hash(item.value),
            model=self.model_id if new_vector is not None else existing.model,
            source="explicit" if item.source == "explicit" else existing.source,
            expires_at=item.expires_at,
            valid_from=new_from,
        )
        self.store.replace(record, new_vector, index_terms(record) if new_vector is not None else None)
        out.memories.append(record)
        out.items.append(ItemResult(i, "updated", record.id))

    def _insert_all(self, prepared: Prepared, out: _Outcome) -> None:
        """Every item of ``prepared`` as a new memory, through :meth:`Store.insert_many` (those that fit)."""
        fit = len(prepared.items) if out.room is None else min(out.room, len(prepared.items))
        items, vectors_in = prepared.items[:fit], prepared.vectors[:fit]
        vectors = [self._vector(v, item.value) for item, v in zip(items, vectors_in, strict=True)]
        records = [self.new_record(prepared.scope, item) for item in items]
        if records:
            self.store.insert_many(records, vectors, [index_terms(r) for r in records])
        out.memories.extend(records)
        out.items.extend(ItemResult(i, "stored", record.id) for i, record in enumerate(records))
        out.added += len(records)
        if out.room is not None:
            out.room -= fit
        for i in range(fit, len(prepared.items)):
            out.take_room(i)

    def _store_fact(
        self, scope: str, item: NewMemory, i: int, prepared: Prepared, batch: _BatchDedup | None, out: _Outcome
    ) -> None:
        decision = batch.decide(i) if batch is not None else Decision("insert")
        if decision.action == "skip":
            out.skipped.append(item.value)
            kept = decision.target.id if decision.target is not None else ""
            out.duplicates.append(kept)
            out.items.append(ItemResult(i, "duplicate", kept))
            return
        if decision.action == "insert" and not out.take_room(i):
            return
        vector = self._vector(prepared.vectors[i], item.value)
        record = self.new_record(scope, item)
        self.store.insert(record, vector, index_terms(record))
        out.memories.append(record)
        out.added += 1
        replaced = decision.target if decision.action == "supersede" else None
        ended = [replaced.id] if replaced is not None else []
        if replaced is not None:
            self._end(replaced, record)
            out.superseded.append(replaced.id)
            out.added -= 1
        ended += self._supersede_slot(scope, record, out)
        out.items.append(ItemResult(i, "superseded" if ended else "stored", record.id, ended))
        if batch is not None:
            batch.added(record, vector, replaced)

    def _supersede_slot(self, scope: str, record: MemoryRecord, out: _Outcome) -> list[str]:
        """An extracted fact with a slot (engine/slots.py) supersedes the slot's older values (their ids)."""
        slot = record.metadata.get("slot")
        if record.source != "extracted" or not isinstance(slot, str):
            return []
        ended = []
        for old in self.store.find_by_slot(self.account, scope, slot):
            if old.id == record.id or old.source != "extracted":
                continue
            self._end(old, record)
            out.superseded.append(old.id)
            out.added -= 1
            ended.append(old.id)
        return ended

    def supersede(self, old: MemoryRecord, by: MemoryRecord) -> None:
        """``by`` replaces the live memory ``old`` (consolidation's merges), in the caller's transaction."""
        self._end(old, by)

    def _end(self, old: MemoryRecord, by: MemoryRecord) -> None:
        """``by`` supersedes ``old``: the old value held until the new one's time (never before its own)."""
        until = max(valid_from(old), valid_from(by))
        self.store.add_history(history_entry(old, "superseded", by.id, valid_to=until), self.account)
        self.store.supersede(self.account, old.id, by.id, valid_to=until)

    def new_record(self, scope: str, item: NewMemory) -> MemoryRecord:
        now = now_ms()
        created = item.created_at if item.created_at is not None else now
        updated = item.updated_at if item.updated_at is not None else (now if item.created_at is None else created)
        return MemoryRecord(
            id=str(uuid.uuid4()),
            scope=scope,
            key=item.key,
            value=item.value,
            metadata=item.metadata,
            importance=0.5 if item.importance is None else item.importance,
            source=item.source,
            status="ready",
            created_at=created,
            updated_at=max(created, updated),
            content_hash=content_hash(item.value),
            model=self.model_id,
            account=self.account,
            expires_at=item.expires_at,
            valid_from=created,
        )


@dataclass
class _Outcome:
    memories: list[MemoryRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    items: list[ItemResult] = field(default_factory=list)
    #: Live memories added: new rows minus the rows they superseded.
    added: int = 0
    #: How many more new memories fit (None: no limit); items refused for want of it.
    room: int | None = None
    refused: int = 0

    def take_room(self, i: int) -> bool:
        """Whether item ``i``'s new memory fits (and takes its place), else it is refused."""
        if self.room is None:
            return True
        if self.room > 0:
            self.room -= 1
            return True
        self.items.append(ItemResult(i, "refused", "", code=QuotaExceeded.code, message=NO_ROOM))
        self.refused += 1
        return False


class _BatchDedup:
    """Dedup for one batch of unkeyed facts, against the scope's live memories and the batch's own.

    Everything that can be read once is: the nearest committed memory of every fact (one scan of the
    vector matrix per 64 facts) and the live memories with the batch's content hashes (one query).
    Facts the batch has already written are compared with one matrix product per fact.
    """

    def __init__(self, writer: Writer, prepared: Prepared) -> None:
        self._writer, self._prepared = writer, prepared
        facts = prepared.items
        self._similar = prepared.dedup == "similar"
        # Near-duplicate search needs a vector per fact; facts preparing found stored exactly have
        # none and are settled by their hash below.
        self._with_vector = [i for i, v in enumerate(prepared.vectors) if v is not None and facts[i].key is None]
        dims = next((v.shape[0] for v in prepared.vectors if v is not None), 0)
        self._nearest: dict[int, list[tuple[int, float]]] = {}
        if self._similar and self._with_vector:
            # Search the committed state before this transaction writes anything, so the shared
            # vector index never caches a row that a rollback could undo.
            queries = np.stack([prepared.vectors[i] for i in self._with_vector])  # type: ignore[misc]
            found = writer.index.search_many(writer.account, prepared.scope, queries, 1)
            self._nearest = dict(zip(self._with_vector, found, strict=True))
        hashes = [content_hash(f.value) for f in facts if f.key is None]
        self._by_hash = writer.store.find_by_hashes(writer.account, prepared.scope, hashes)
        self._fresh: list[MemoryRecord] = []
        self._fresh_vectors = np.zeros((len(facts), dims), dtype=np.float32)

    def decide(self, i: int) -> Decision:
        fact = self._prepared.items[i].value
        source = self._prepared.items[i].source
        exact = self._by_hash.get(content_hash(fact))
        if exact is not None:
            return decide(source, exact, None, 1.0, 1.0)
        vector = self._prepared.vectors[i]
        if not self._similar or vector is None:
            return Decision("insert")
        closest: MemoryRecord | None = None
        nearest = self._nearest.get(i) or []
        rowid, similarity = nearest[0] if nearest else (None, 0.0)
        if self._fresh:
            scores = self._fresh_vectors[: len(self._fresh)] @ vector
            best = int(np.argmax(scores))
            if scores[best] > similarity:
                closest, similarity = self._fresh[best], float(scores[best])
        if similarity < RELATED:
            return Decision("insert")  # rule 2, without reading the neighbour's row
        if closest is None and rowid is not None:
            closest = self._writer.store.get_many_by_rowid(self._writer.account, [rowid]).get(rowid)
        if closest is None:  # the neighbour was superseded earlier in this batch
            return Decision("insert")
        shared = overlap(set(analyze(fact)), set(analyze(closest.value)))
        return decide(source, None, closest, similarity, shared, fact)

    def added(self, record: MemoryRecord, vector: np.ndarray, replaced: MemoryRecord | None) -> None:
        """Record a written fact (and forget the one it superseded) for the rest of the batch."""
        self._by_hash[record.content_hash] = record
        if replaced is not None:
            self._by_hash.pop(replaced.content_hash, None)
            for j, fresh in enumerate(self._fresh):
                if fresh.id == replaced.id:
                    self._fresh_vectors[j] = 0.0
        if self._fresh_vectors.shape[1] == vector.shape[0]:
            self._fresh_vectors[len(self._fresh)] = vector
        self._fresh.append(record)


def valid_from(record: MemoryRecord) -> int:
    """Since when a memory's value holds: its own ``valid_from``, else (rows older than validity) its creation."""
    return record.valid_from if record.valid_from is not None else record.created_at


def history_entry(
    old: MemoryRecord, event: str, replaced_by: str | None, *, valid_to: int | None = None
) -> HistoryEntry:
    """The past state ``old`` as a history entry: ``updated``, ``superseded`` or ``deleted``.

    ``valid_to`` (when the value stopped holding) gives the entry its interval; without it (a change
    of metadata alone) the entry has none, as the value still holds.
    """
    return HistoryEntry(
        memory_id=old.id,
        scope=old.scope,
        key=old.key,
        value=old.value,
        metadata=old.metadata,
        importance=old.importance,
        source=old.source,
        event=event,
        replaced_at=now_ms(),
        replaced_by=replaced_by,
        valid_from=valid_from(old) if valid_to is not None else None,
        valid_to=valid_to,
    )


def index_terms(record: MemoryRecord) -> list[str]:
    """What BM25 indexes for a memory: its key, its value and the terms of its date."""
    return analyze(f"{record.key or ''} {record.value}", created_at=record.created_at)
