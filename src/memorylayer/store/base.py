"""The storage protocols. Stores keep memories, vectors, index terms and history; the engine owns the rules.

A backend (SQLite now, PostgreSQL later) implements :class:`Backend`: a memory :class:`Store`, an
:class:`~memorylayer.store.accounts.AccountStore`, a :class:`~memorylayer.store.sessions.SessionStore`, a
:class:`~memorylayer.store.usage.UsageStore` and a :class:`VectorIndex` over one database, sharing
one transaction per thread, so a write and the limit that guards it commit together. One conformance
suite (``tests/store/``) runs against each backend.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..types import SYMMETRIC_LINKS, HistoryEntry, Link, MemoryRecord, Namespace
from .accounts import AccountStore
from .registry import RegistryStore
from .sessions import SessionStore
from .tarballs import TarballStore
from .usage import UsageStore


@dataclass(frozen=True)
class StoredVector:
    """A vector change since some sequence number: ``vector`` is None when the memory left the live set."""

    rowid: int
    vector: np.ndarray | None


@dataclass(frozen=True)
class RankFields:
    """The few columns ranking needs, read for every candidate before full rows are fetched."""

    rowid: int
    id: str
    source: str
    importance: float
    created_at: int
    updated_at: int
    recall_count: int


@dataclass(frozen=True)
class ListQuery:
    account: str
    scope: str | None = None
    source: str | None = None
    search: str | None = None
    #: A substring of the key (keyed memories only).
    key_search: str | None = None
    created_after: int | None = None
    created_before: int | None = None
    #: Only memories with an expiry (``list --expiring``).
    expiring: bool = False
    order_by: str = "updated_at"
    order_dir: str = "desc"
    limit: int = 50
    after: tuple[Any, str] | None = None  # (order value, id) of the last row of the previous page


def earlier_value(live: MemoryRecord, row: Any) -> MemoryRecord:
    """A keyed memory as it was: ``live`` with the value, metadata, importance and interval of a history
    row (columns ``h_value``, ``h_metadata``, ``h_importance``, ``h_from``, ``h_to``). No vector is kept
    for an earlier value, so ``model`` is None."""
    return replace(
        live,
        value=row["h_value"],
        metadata=json.loads(row["h_metadata"]),
        importance=row["h_importance"],
        content_hash="",
        model=None,
        valid_from=row["h_from"],
        valid_to=row["h_to"],
    )


def canonical_links(links: Iterable[Link]) -> builtins.list[Link]:
    """``links`` with each symmetric one stored one way (source the smaller id), self-links and repeats dropped.

    A repeated link keeps its last weight and label, as an upsert would.
    """
    found: dict[tuple[str, str, str], Link] = {}
    for link in links:
        if link.source == link.target:
            continue
        if link.kind in SYMMETRIC_LINKS and link.target < link.source:
            link = replace(link, source=link.target, target=link.source)
        found[(link.source, link.target, link.kind)] = link
    return builtins.list(found.values())


def ids_by_account(rows: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(account, id) rows grouped as {account: [ids]} (a sweep deletes account by account)."""
    grouped: dict[str, list[str]] = {}
    for account, memory_id in rows:
        grouped.setdefault(account, []).append(memory_id)
    return grouped


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Any]:
        """One atomic unit of work; writers from other processes wait for it."""
        ...

    def insert(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str]) -> int:
        """Insert a new live memory; returns its internal row number (never that of a deleted memory).

        Raises:
            Conflict: the id exists, or another live memory holds the record's (scope, key).
        """
        ...

    def insert_many(
        self, records: Sequence[MemoryRecord], vectors: Sequence[np.ndarray | None], terms: Sequence[Sequence[str]]
    ) -> list[int]:
        """:meth:`insert` of each record in one transaction (the bulk path: imports, migrate-store, big batches).

        Raises:
            Conflict: an id exists, or a live memory holds a record's (scope, key); nothing is written.
        """
        ...

    def replace(self, record: MemoryRecord, vector: np.ndarray | None, terms: Sequence[str] | None) -> None:
        """Overwrite a memory's mutable fields (value, metadata, importance, times, hash, vector, terms).

        Raises:
            Conflict: another live memory holds the record's (scope, key).
        """
        ...

    def supersede(self, account: str, memory_id: str, by_id: str, valid_to: int | None = None) -> None:
        """Mark ``memory_id`` superseded by ``by_id``; its value held until ``valid_to``."""
        ...

    def purge_expired(
        self,
        now: int,
        *,
        limit: int = 500,
        account: str | None = None,
        scope: str | None = None,
        key: str | None = None,
    ) -> int:
        """Delete up to ``limit`` memories whose expiry is at or before ``now`` (text, vectors, terms, history).

        Safe with several processes and replicas sweeping at once: each row goes exactly once, and
        a row whose expiry was moved later is not touched. Returns how many this call deleted.
        """
        ...

    def valid_at(self, account: str, scope: str, at: int, key: str | None = None) -> builtins.list[MemoryRecord]:
        """The memories of ``scope`` (of ``key`` if given) whose value held at instant ``at``, unexpired now.

        A superseded memory comes with its interval; a keyed memory whose value changed since comes
        with the value it had then (from its history; ``model`` None as no vector is kept for it).
        """
        ...

    def delete(self, account: str, memory_ids: Sequence[str], *, keep_history: bool = False) -> int: ...

    def delete_scope(self, account: str, scope: str | None) -> int: ...

    def get(self, account: str, memory_id: str) -> MemoryRecord | None: ...

    def get_many_by_rowid(self, account: str, rowids: Sequence[int]) -> dict[int, MemoryRecord]: ...

    def rank_fields(self, account: str, rowids: Sequence[int]) -> dict[int, RankFields]:
        """Ranking columns of the live memories among ``rowids``."""
        ...

    def get_by_key(self, account: str, scope: str, key: str) -> MemoryRecord | None: ...

    def ids_by_key(self, account: str, scope: str, key: str) -> list[str]: ...

    def find_by_hashes(self, account: str, scope: str, hashes: Sequence[str]) -> dict[str, MemoryRecord]:
        """Live memories of ``scope`` by content hash (a keyed one first when several share a hash)."""
        ...

    def find_by_slot(self, account: str, scope: str, slot: str) -> builtins.list[MemoryRecord]:
        """Live unkeyed memories of ``scope`` whose metadata ``slot`` is ``slot`` (engine/slots.py), oldest first."""
        ...

    def list(self, query: ListQuery) -> list[MemoryRecord]: ...

    def count(self, query: ListQuery) -> int: ...

    def count_live(self, accounts: Sequence[str], scope: str | None = None) -> int: ...

    def namespaces(self, account: str) -> builtins.list[Namespace]: ...

    def scope_exists(self, account: str, scope: str) -> bool: ...

    def touch_scope(self, account: str, scope: str) -> None:
        """Record that ``scope`` has been written to (it then exists even when empty)."""
        ...

    def scopes(self, account: str) -> builtins.list[str]: ...

    def add_history(self, entry: HistoryEntry, account: str) -> None: ...

    def history(
        self, account: str, *, memory_id: str | None, scope: str | None, key: str | None
    ) -> builtins.list[HistoryEntry]: ...

    def lexical(self, account: str, scope: str, terms: Sequence[str], limit: int) -> builtins.list[tuple[int, float]]:
        """BM25 candidates as (rowid, score), best first; higher is better."""
        ...

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Number of indexed documents, and how many contain each of ``terms``."""
        ...

    def terms_for(self, rowids: Sequence[int]) -> dict[int, set[str]]:
        """The index terms of each memory."""
        ...

    def vector_changes(
        self, account: str, scope: str, since: int, model: str
    ) -> tuple[builtins.list[StoredVector], int]:
        """Live-set changes of ``model``'s vectors in ``scope`` after sequence ``since``.

        Returns the changes and the new high-water mark.
        """
        ...

    def mark_recalled(self, account: str, memory_ids: Sequence[str], at: int) -> None:
        """Update the access history of ``memory_ids`` (count, last time) and log them as one recall."""
        ...

    def recalls(self, account: str, scope: str, since: int) -> builtins.list[tuple[str, str, int]]:
        """(recall id, memory id, time) of each live memory of ``scope`` recalled since ``since``, oldest first."""
        ...

    def forget_recalls(self, account: str, scope: str, before: int) -> int:
        """Drop the recall log of ``scope`` older than ``before``; returns how many rows went."""
        ...

    def prune_recalls(self, before: int, *, limit: int = 5_000) -> int:
        """Drop up to ``limit`` recall-log rows older than ``before``, of every account; returns how many went."""
        ...

    def put_links(self, account: str, scope: str, links: Sequence[Link], at: int) -> int:
        """Add or update (weight, label) ``links`` between memories of ``scope``, in the caller's transaction.

        Links are stored as :func:`canonical_links` makes them; one naming a memory that is not in
        ``scope`` of ``account`` is skipped. Returns how many were written.
        """
        ...

    def links_of(
        self, account: str, memory_ids: Sequence[str], kinds: Sequence[str] | None = None
    ) -> builtins.list[Link]:
        """The links with either end among ``memory_ids`` (of ``kinds`` if given), whether or not the other
        end is live (a superseded memory keeps its links; a deleted one's are gone)."""
        ...

    def drop_links(self, account: str, scope: str, kinds: Sequence[str]) -> int:
        """Remove every link of ``kinds`` in ``scope`` (a rebuild); returns how many went."""
        ...

    def count_links(self, account: str, scope: str) -> dict[str, int]:
        """How many links of each kind ``scope`` holds."""
        ...

    def supersessions(self, account: str, scope: str) -> builtins.list[tuple[str, str]]:
        """(newer id, superseded id) of every superseded memory of ``scope`` (weave's ``supersedes`` links)."""
        ...

    def iter_records(self, account: str, scope: str | None = None) -> Iterator[MemoryRecord]: ...

    def vectors_of(self, account: str, memory_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """(model, vector) of each of ``memory_ids`` that has one (a package carries its embeddings)."""
        ...

    def iter_for_reindex(self, model_id: str) -> Iterator[tuple[int, str]]:
        """(rowid, value) of every memory whose vector is missing or from another model."""
        ...

    def set_vectors(self, items: Iterable[tuple[int, np.ndarray]], model_id: str) -> None:
        """Store ``model_id``'s vector of each (rowid, vector); rows deleted meanwhile are skipped."""
        ...

    def models(self) -> dict[str, int]:
        """How many vectors each embedding model made."""
        ...


class VectorIndex(Protocol):
    """Cosine top-k over one scope's live vectors of one model; vectors are unit length.

    Derived from the store and kept in step with it: a write committed by any process or replica is
    visible to the next search.
    """

    model_id: str

    def search(
        self, account: str, scope: str, query: np.ndarray, k: int, *, exact: bool = False
    ) -> builtins.list[tuple[int, float]]:
        """(rowid, cosine) of the ``k`` nearest live memories, nearest first; ``exact`` never approximates."""
        ...

    def search_many(
        self, account: str, scope: str, queries: np.ndarray, k: int, *, exact: bool = False
    ) -> builtins.list[builtins.list[tuple[int, float]]]:
        """:meth:`search` for each row of ``queries``."""
        ...

    def vectors(self, account: str, scope: str, rowids: builtins.list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those ``rowids`` the scope holds live."""
        ...

    def forget(self, account: str | None = None) -> None:
        """Drop anything cached (for all accounts, or one); it is rebuilt from the store on demand."""
        ...


class Backend(Protocol):
    """One database: its memory store, its account store and vector indexes, one transaction per thread."""

    @property
    def url(self) -> str:
        """Where the data lives (a ``sqlite:///`` URL, or a PostgreSQL URL without its password)."""
        ...

    @property
    def memories(self) -> Store: ...

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def sessions(self) -> SessionStore:
        """The dashboard's signed-in sessions."""
        ...

    @property
    def usage(self) -> UsageStore:
        """Calls per account per day."""
        ...

    @property
    def registry(self) -> RegistryStore:
        """The package registry's records (server side) and the packages installed here (client side)."""
        ...

    def tarballs(self, home: Path) -> TarballStore:
        """Where the registry keeps package tarballs; ``home`` is this process's MemoryLayer home."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """One atomic unit of work across memories and accounts (re-entrant within a thread)."""
        ...

    def vector_index(self, model_id: str, dimensions: int, *, threads: int = 2) -> VectorIndex: ...

    def check(self) -> None:
        """Raise if the database cannot answer a trivial query (for health checks)."""
        ...

    def close(self) -> None: ...
