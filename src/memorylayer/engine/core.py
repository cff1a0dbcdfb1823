"""The engine: every rule about memories lives here; the CLI, server, SDK and MCP tools are thin edges."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import limits
from ..config import Settings
from ..embedding.embedder import Embedder
from ..errors import InvalidRequest, NotFound
from ..files import secure_home
from ..store import open_backend
from ..store.base import Backend, ListQuery, Store
from ..types import (
    LOCAL_ACCOUNT,
    AddResult,
    HistoryEntry,
    MemoryRecord,
    Namespace,
    NewMemory,
    Page,
    Ranking,
    RecallResult,
    SearchHit,
    now_ms,
)
from . import jsonl
from . import validation as v
from .asof import list_as_of, ordered_as_of, rank_as_of
from .batch import Batching
from .code_reasoning import CodeAndReasoning
from .consolidation import Consolidating
from .cursor import decode_cursor, encode_cursor
from .extraction import extract_facts
from .links import Linking
from .operations import Operations
from .ranking import DEFAULT_RANKING, RankingConfig, build_context
from .recall import budget as recall_budget
from .recall import ordered
from .shared import Shared
from .writes import Admit, Dedup, Prepared, Room, Writer

Progress = Callable[[int, int], None]
ORDER_BY = ("updated_at", "created_at", "importance", "last_recalled_at", "expires_at")
SOURCES = ("explicit", "extracted", "imported")
#: Texts embedded per model call by imports and reindexing (progress is reported per batch).
EMBED_BATCH = 256


class Engine(Operations, CodeAndReasoning, Consolidating, Linking, Batching):
    """Memories of one account (``"local"`` for local use) in one database.

    All methods are synchronous and thread-safe; each write is one transaction.
    """

    def __init__(self, shared: Shared, account: str = LOCAL_ACCOUNT, quota: tuple[Admit, Room] | None = None) -> None:
        self._shared = shared
        self.account = account
        #: The (admit, room) every adding write of this view is held to when its caller brings none.
        self.quota = quota

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        *,
        database: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        extractor: Any = None,
        reranker: Any = None,
        ranking: RankingConfig | None = None,
    ) -> Engine:
        """Open (creating if needed) the database of ``database``, ``settings`` or ``home``.

        ``database`` is a SQLite path or URL, or a ``postgresql://`` URL; by default ``<home>/memory.db``.

        Raises:
            InvalidRequest: a bad setting or database URL.
            StorageError: the home or database cannot be created or opened (read-only, full, busy, corrupt).
        """
        if settings is None:
            settings = Settings.load(home=Path(home) if home else None, database=database)
        else:
            if home is not None:
                settings = settings.with_(home=Path(home))
            if database is not None:
                settings = settings.with_(database=database)
        if not settings.database:  # the default database is in the home, which is MemoryLayer's own
            secure_home(settings.home)
        backend = open_backend(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        shared = Shared(settings, backend, ranking or DEFAULT_RANKING, embedder, extractor, reranker)
        return cls(shared)

    def for_account(self, account: str) -> Engine:
        """The same database and models, seen as another tenant (a server account or container)."""
        return Engine(self._shared, v.text(account, "account", limits.ACCOUNT_ID, name=True))

    def with_quota(self, admit: Admit, room: Room) -> Engine:
        """This tenant's view with every adding write held to a quota (an edge whose tools call the
        engine's writes directly, like MCP over HTTP): ``admit`` for each write, ``room`` for a
        partial batch, unless the call brings its own."""
        return Engine(self._shared, self.account, (admit, room))

    @property
    def backend(self) -> Backend:
        """The database: its memory store, account store and transactions."""
        return self._shared.backend

    @property
    def store(self) -> Store:
        return self._shared.backend.memories

    @property
    def settings(self) -> Settings:
        return self._shared.settings

    @property
    def embedder(self) -> Embedder:
        return self._shared.embedder

    @property
    def ranking(self) -> RankingConfig:
        return self._shared.ranking

    def close(self) -> None:
        """Close the database connections and any open client of the extraction model."""
        extractor = self._shared.__dict__.get("extractor")
        if extractor is not None and hasattr(extractor, "close"):
            extractor.close()
        self._shared.backend.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _writer(self) -> Writer:
        embedder = self.embedder
        return Writer(self.store, self._shared.index, self.account, embedder.model_id, embedder.embed)

    # -- writes ------------------------------------------------------------------------------
    def add(
        self,
        scope: str,
        value: str,
        *,
        key: str | None = None,
        importance: float | None = None,
        metadata: dict[str, Any] | None = None,
        extract: bool | None = None,
        prompt: str | None = None,
        created_at: int | None = None,
        expires_at: int | None = None,
        ttl: int | None = None,
        admit: Admit | None = None,
    ) -> AddResult:
        """Store a keyed fact (upsert by ``(scope, key)``) or free text.

        ``expires_at`` (ms) or ``ttl`` (seconds) make what is written disappear on its own; re-adding
        a key sets its expiry to what this add says (none if it says none).

        Free text goes through the extractor (zero or more facts) unless ``extract=False``, which
        stores it verbatim. Unkeyed facts pass the dedup rules of :mod:`memorylayer.engine.dedup`.
        ``admit`` runs inside the write's transaction with the number of memories it adds.

        Raises:
            InvalidRequest: a value is empty, too long or of the wrong type; nothing is written.
            ExtractionFailed: the configured extraction model failed; nothing is written.
        """
        scope = v.scope(scope)
        value = v.memory_value(value)
        meta = v.metadata(metadata)
        if importance is not None:
            importance = v.unit_interval(importance, "importance")
        created_at = v.optional_time(created_at, "created_at")
        expiry = v.expiry(expires_at, ttl, now_ms())
        if key is not None or extract is False:
            keyed = None if key is None else v.key(key)
            item = NewMemory(value, keyed, meta, importance, created_at=created_at, expires_at=expiry)
            return self.commit(self.prepare(scope, [item]), admit)
        if importance is not None:
            raise InvalidRequest(
                "importance is only valid with key (explicit path)",
                details=[{"path": ["importance"], "message": "importance is only valid with key"}],
            )
        items = [
            NewMemory(
                fact,
                metadata={**meta, "slot": slot} if slot else meta,
                created_at=created_at,
                source="extracted",
                expires_at=expiry,
            )
            for fact, slot in extract_facts(self._shared.extractor, value, prompt)
        ]
        return self.commit(self.prepare(scope, items), admit)

    def add_many(
        self,
        scope: str,
        values: builtins.list[str],
        *,
        metadata: dict[str, Any] | None = None,
        created_at: builtins.list[int] | None = None,
        dedup: bool = True,
        source: str = "explicit",
        expires_at: int | None = None,
        ttl: int | None = None,
        admit: Admit | None = None,
    ) -> AddResult:
        """Store many texts verbatim in one transaction, embedded in batches (all with one expiry, if given).

        ``dedup=False`` stores every value even when it repeats (an append-only log, e.g. chat turns).
        """
        scope = v.scope(scope)
        if not isinstance(values, list) or not values:
            raise InvalidRequest("values: expected a non-empty list of strings")
        values = [v.memory_value(x, f"values[{i}]") for i, x in enumerate(values)]
        if created_at is not None and len(created_at) != len(values):
            raise InvalidRequest("created_at: expected one timestamp per value")
        source = v.choice(source, "source", SOURCES)
        meta = v.metadata(metadata)
        stamps = (
            [v.integer(t, f"created_at[{i}]", limits.TIME_MS) for i, t in enumerate(created_at)]
            if created_at is not None
            else [None] * len(values)
        )
        expiry = v.expiry(expires_at, ttl, now_ms())
        items = [
            NewMemory(x, metadata=meta, created_at=t, source=source, expires_at=expiry)
            for x, t in zip(values, stamps, strict=True)
        ]
        return self.commit(self.prepare(scope, items, dedup="similar" if dedup else "none"), admit)

    def prepare(
        self,
        scope: str,
        items: builtins.list[NewMemory],
        *,
        dedup: Dedup = "similar",
        embedded: dict[str, np.ndarray] | None = None,
    ) -> Prepared:
        """Embed ``items`` for :meth:`commit`, outside any transaction (items must be validated).

        Items already stored exactly as they are are not embedded at all, and each distinct text once
        (``embedded``, shared across calls, carries vectors from one batch to the next).
        """
        return self._writer.prepare(scope, items, dedup, embedded)

    def commit(self, prepared: Prepared, admit: Admit | None = None, room: Room | None = None) -> AddResult:
        """Write what :meth:`prepare` made in one transaction, or in the caller's if one is open.

        Raises:
            MemoryLayerError: whatever ``admit`` raises; nothing is written.
        """
        self._shared.sweep_now_and_then()
        if admit is None and self.quota is not None:
            admit = self.quota[0]
        return self._writer.commit(prepared, admit, room)

    def purge_expired(self, *, limit: int = 500) -> int:
        """Delete memories past their expiry, of every account in this database: text, vectors, terms, history.

        Expired memories are already gone for every read; this frees their space. Any number of
        processes and replicas may sweep at once (each row goes once, nothing live is touched).
        Returns how many went; call again while it returns ``limit``.
        """
        return self.store.purge_expired(now_ms(), limit=v.integer(limit, "limit", limits.LIST_LIMIT))

    def _log_recall(self, returned: list[MemoryRecord]) -> None:
        """Access history: what a recall returned, and when (the recall log, which the sweep keeps to a year)."""
        self._shared.sweep_now_and_then()
        self.store.mark_recalled(self.account, [m.id for m in returned], now_ms())

    def update(
        self,
        memory_id: str,
        *,
        value: str | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        replace_metadata: bool = False,
    ) -> MemoryRecord:
        """Change a memory in place: new content is re-embedded, metadata merges, the old state goes to history.

        ``replace_metadata`` makes ``metadata`` the whole new metadata instead of merging it in.

        Raises:
            NotFound: no live memory with this id in this account.
            InvalidRequest: nothing to change, or a bad value.
        """
        memory_id = v.memory_id(memory_id)
        if value is None and metadata is None and importance is None:
            raise InvalidRequest("nothing to update: give value, metadata or importance")
        if value is not None:
            value = v.memory_value(value)
        meta = v.metadata(metadata)
        if importance is not None:
            importance = v.unit_interval(importance, "importance")
        vector = self.embedder.embed([value])[0] if value is not None else None
        return self._writer.update(
            memory_id,
            vector,
            value=value,
            metadata=None if metadata is None else meta,
            importance=importance,
            replace_metadata=replace_metadata,
        )

    def remove(self, scope: str, key: str) -> bool:
        """Delete the memory stored under ``(scope, key)``, with its history; False if there was none."""
        scope, key = v.scope(scope), v.key(key)
        with self.store.transaction():
            ids = self.store.ids_by_key(self.account, scope, key)
            return self.store.delete(self.account, ids) > 0

    def delete(self, memory_id: str, *, keep_history: bool = False) -> bool:
        """Delete a memory by id: text, vector, index entries and (unless asked) history. False if unknown."""
        memory_id = v.memory_id(memory_id)
        return self.store.delete(self.account, [memory_id], keep_history=keep_history) > 0

    def drop_scope(self, scope: str) -> int:
        """Delete every memory of ``scope`` and its history; returns how many memories went."""
        return self.store.delete_scope(self.account, v.scope(scope))

    def drop_account(self) -> int:
        """Delete every memory of this account (used when a container or account is deleted)."""
        count = self.store.delete_scope(self.account, None)
        self._shared.index.forget(self.account)
        return count

    # -- reads -------------------------------------------------------------------------------
    def get(self, memory_id: str) -> MemoryRecord:
        """The memory with this id (live or superseded).

        Raises:
            NotFound: no such memory in this account.
        """
        record = self.store.get(self.account, v.memory_id(memory_id))
        if record is None:
            raise NotFound(f"memory {memory_id} does not exist")
        return record

    def get_key(self, scope: str, key: str, *, as_of: int | None = None) -> MemoryRecord | None:
        """The live memory under ``(scope, key)``, or None; ``as_of`` (ms): the value it had then, with its interval."""
        scope, key = v.scope(scope), v.key(key)
        if as_of is None:
            return self.store.get_by_key(self.account, scope, key)
        found = self.store.valid_at(self.account, scope, v.integer(as_of, "as_of", limits.TIME_MS), key)
        return found[0] if found else None

    def list(
        self,
        *,
        scope: str | None = None,
        source: str | None = None,
        search: str | None = None,
        key_search: str | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        order_by: str = "updated_at",
        order_dir: str = "desc",
        limit: int = limits.DEFAULT_LIST_LIMIT,
        cursor: str | None = None,
        include_total: bool = False,
        expiring: bool = False,
        as_of: int | None = None,
    ) -> Page:
        """One page of live memories. ``cursor`` continues exactly where the previous page ended.

        ``search`` is a substring of the value or key, ``key_search`` a substring of the key;
        ``expiring`` keeps only memories with an expiry; ``as_of`` (ms) lists what was valid then
        (superseded values with their interval; see :mod:`.asof`).

        Raises:
            InvalidRequest: a bad filter, limit or cursor ("Invalid cursor").
        """
        query = ListQuery(
            account=self.account,
            scope=None if scope is None else v.scope(scope),
            source=None if source in (None, "all") else v.choice(source, "source", SOURCES),
            search=None if search is None else v.text(search, "search", limits.LIST_SEARCH),
            key_search=None if key_search is None else v.text(key_search, "key_search", limits.LIST_SEARCH),
            created_after=v.optional_time(created_after, "created_after"),
            created_before=v.optional_time(created_before, "created_before"),
            order_by=v.choice(order_by, "order_by", ORDER_BY),
            order_dir=v.choice(order_dir, "order_dir", ("asc", "desc")),
            limit=v.integer(limit, "limit", limits.LIST_LIMIT),
            after=decode_cursor(cursor, order_by) if cursor else None,
            expiring=bool(expiring),
        )
        if as_of is not None:
            at = v.integer(as_of, "as_of", limits.TIME_MS)
            return list_as_of(self._shared.retriever, self.account, query, at, include_total)
        rows = self.store.list(replace(query, limit=query.limit + 1))
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = encode_cursor(getattr(rows[-1], order_by), rows[-1].id) if more and rows else None
        total = self.store.count(query) if include_total else None
        return Page(memories=rows, next_cursor=next_cursor, total=total)

    def iter_all(self, **filters: Any) -> Iterator[MemoryRecord]:
        """Every live memory matching ``filters`` (as for :meth:`list`), page by page."""
        cursor = None
        while True:
            page = self.list(**filters, cursor=cursor, limit=500)
            yield from page.memories
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def count(self, scope: str | None = None) -> int:
        """Live memories of this account (in one scope if given)."""
        return self.store.count_live([self.account], None if scope is None else v.scope(scope))

    def count_accounts(self, accounts: builtins.list[str]) -> int:
        """Live memories across several accounts (a parent and its containers, for quotas)."""
        return self.store.count_live(accounts)

    def namespaces(self) -> builtins.list[Namespace]:
        """Scopes with live memories, with their count and last update."""
        return self.store.namespaces(self.account)

    def scope_exists(self, scope: str) -> bool:
        return self.store.scope_exists(self.account, v.scope(scope))

    def history(
        self, memory_id: str | None = None, *, scope: str | None = None, key: str | None = None
    ) -> builtins.list[HistoryEntry]:
        """Past states of a memory (by id) or of a key, oldest first.

        Raises:
            InvalidRequest: neither an id nor a scope and key were given.
        """
        if memory_id is not None:
            return self.store.history(self.account, memory_id=v.memory_id(memory_id), scope=None, key=None)
        if scope is None or key is None:
            raise InvalidRequest("history needs a memory id, or a scope and a key")
        return self.store.history(self.account, memory_id=None, scope=v.scope(scope), key=v.key(key))

    def search(
        self,
        query: str,
        *,
        scope: str | None = None,
        top_k: int = limits.DEFAULT_TOP_K,
        min_score: float = 0.0,
        as_of: int | None = None,
    ) -> builtins.list[SearchHit]:
        """Hybrid keyword + semantic search; results best first with scores in [0, 1].

        Searches every scope of the account when ``scope`` is None; ``as_of`` (ms) searches what was
        valid then instead of now.
        """
        query = v.query(query)
        top_k = v.integer(top_k, "top_k", limits.TOP_K)
        min_score = v.score(min_score, "min_score")
        scopes = [v.scope(scope)] if scope is not None else self.store.scopes(self.account)
        if as_of is not None:
            at = v.integer(as_of, "as_of", limits.TIME_MS)
            found = rank_as_of(self._shared.retriever, self.account, scopes, query, at, top_k)
            return [hit for hit in found if hit.score >= min_score]
        hits = self._shared.retriever.rank(self.account, scopes, query, self.ranking.pool_size(top_k), top_k)
        return [hit for hit in hits if hit.score >= min_score]

    def recall(
        self,
        scope: str,
        query: str,
        *,
        max_items: int = limits.DEFAULT_MAX_ITEMS,
        max_tokens: int = limits.DEFAULT_MAX_TOKENS,
        threshold: str | None = limits.DEFAULT_THRESHOLD,
        defaults: dict[str, str] | None = None,
        record_access: bool = True,
        near_misses: int = 0,
        chars_per_token: int | None = None,
        as_of: int | None = None,
    ) -> RecallResult:
        """Prompt-ready context for ``query`` from ``scope``, within ``max_items`` and ``max_tokens``.

        Tokens are word pieces of the default model's tokenizer; ``chars_per_token`` counts
        ``max_tokens × chars_per_token`` JavaScript characters instead (``/v1`` passes 4, the wire's
        rule). A memory that does not fit is skipped and filling goes on. Defaults fill remaining
        slots as ``key: value`` lines. Generic queries and a model that cannot run: see
        :mod:`memorylayer.engine.recall`.
        ``record_access=False`` leaves the memories' access history as it was (a preview, not a use).
        ``near_misses`` > 0 also returns, in ``left_out``, the best candidates that did not make the
        context (under the threshold or over the budget), from the same single retrieval.
        ``as_of`` (ms) recalls what was valid at that instant (superseded values with their interval).

        Raises:
            InvalidRequest: a bad scope, query, budget, threshold or defaults.
        """
        scope, query = v.scope(scope), v.query(query)
        max_items = v.integer(max_items, "max_items", limits.MAX_ITEMS)
        max_tokens = v.integer(max_tokens, "max_tokens", limits.MAX_TOKENS)
        near_misses = v.integer(near_misses, "near_misses", limits.NEAR_MISSES)
        level = v.choice(threshold or limits.DEFAULT_THRESHOLD, "threshold", limits.THRESHOLDS)
        defaults = v.defaults(defaults)
        at = None if as_of is None else v.integer(as_of, "as_of", limits.TIME_MS)
        budget, measure = recall_budget(max_tokens, chars_per_token)
        if not self.store.scope_exists(self.account, scope):
            context, _ = build_context([], defaults, max_items, budget, measure)
            return RecallResult(context=context, memories=[], ranking=Ranking("user_not_found"))
        if at is not None:
            ranked, hits, ranking = ordered_as_of(
                self._shared.retriever, self.account, scope, query, at, level, max_items
            )
        else:
            ranked, hits, ranking = ordered(
                self._shared.retriever, self.account, scope, query, level, max_items, near_misses
            )
        context, kept = build_context([h.memory for h in hits], defaults, max_items, budget, measure)
        kept_ids = {m.id for m in kept}
        kept_hits = [h for h in hits if h.memory.id in kept_ids]
        if record_access:
            self._log_recall(kept)
        return RecallResult(
            context=context,
            memories=kept,
            ranking=replace(ranking, scores=[round(h.score, 4) for h in kept_hits]),
            hits=kept_hits,
            left_out=[h for h in ranked if h.memory.id not in kept_ids][:near_misses],
        )

    # -- bulk --------------------------------------------------------------------------------
    def export_jsonl(self, fp: IO[str], *, scope: str | None = None) -> int:
        """Write live memories as JSON Lines (one object per memory); returns how many."""
        count = 0
        for record in self.store.iter_records(self.account, None if scope is None else v.scope(scope)):
            fp.write(jsonl.export_line(record))
            count += 1
        return count

    def import_jsonl(self, fp: IO[str], *, scope: str | None = None, progress: Progress | None = None) -> int:
        """Read JSON Lines written by :meth:`export_jsonl`; returns how many memories were written.

        Keyed lines upsert; unkeyed lines already stored with the same text are skipped, and neither
        is embedded. A line's ``expires_at`` is kept; a line already expired is not imported. All
        lines are checked before anything is written, and the import is one transaction.

        Raises:
            InvalidRequest: a line is not valid JSON, not UTF-8 or not a memory (its line number is given).
        """
        by_scope = jsonl.by_scope(fp, scope, now_ms())
        total = sum(len(items) for items in by_scope.values())
        prepared, done = [], 0
        embedded: dict[str, np.ndarray] = {}  # a line repeated anywhere in the file is embedded once
        for line_scope, items in by_scope.items():
            for start in range(0, len(items), EMBED_BATCH):
                batch = items[start : start + EMBED_BATCH]
                prepared.append(self.prepare(line_scope, batch, dedup="exact", embedded=embedded))
                done += len(batch)
                if progress:
                    progress(done, total)
        written = 0
        with self.store.transaction():
            for part in prepared:
                result = self.commit(part)
                written += len(result.memories) - len(result.unchanged)
        return written

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Re-embed every memory whose vector is missing or made by another model; returns how many."""
        model = self.embedder.model_id
        todo = list(self.store.iter_for_reindex(model))
        done = 0
        for start in range(0, len(todo), EMBED_BATCH):
            chunk = todo[start : start + EMBED_BATCH]
            vectors = self.embedder.embed([value for _, value in chunk])
            self.store.set_vectors(zip([rowid for rowid, _ in chunk], vectors, strict=True), model)
            done += len(chunk)
            if progress:
                progress(done, len(todo))
        self._shared.index.forget()
        return done

    def models(self) -> dict[str, int]:
        """How many stored vectors each embedding model made (more than one means `reindex` is due)."""
        return self.store.models()
