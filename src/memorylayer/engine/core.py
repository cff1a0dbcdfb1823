"""The engine: every rule about memories lives here; the CLI, server, SDK and MCP tools are thin edges."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..config import Settings
from ..embedding.embedder import Embedder, default_embedder
from ..errors import InvalidRequest, NotFound
from ..store.base import ListQuery, Store
from . import validation as v
from .dedup import RELATED, Decision, content_hash, decide, overlap
from .ranking import DEFAULT_RANKING, RankingConfig, build_context, coverage, final_score, fuse, idf
from .text import analyze, analyze_query
from .types import (
    LOCAL_ACCOUNT,
    AddResult,
    HistoryEntry,
    MemoryRecord,
    Namespace,
    Page,
    Ranking,
    RecallResult,
    SearchHit,
    iso_ms,
    now_ms,
)
from .vectors import VectorIndex

Progress = Callable[[int, int], None]
ORDER_BY = ("updated_at", "created_at", "importance", "last_recalled_at")
SOURCES = ("explicit", "extracted", "imported")


@dataclass
class _Shared:
    """What every account's view of one database shares: the store and the loaded models."""

    settings: Settings
    store: Store
    ranking: RankingConfig
    embedder_override: Embedder | None = None
    extractor_override: Any = None
    reranker_override: Any = None

    @cached_property
    def embedder(self) -> Embedder:
        return self.embedder_override or default_embedder(self.settings.embed_threads)

    @cached_property
    def extractor(self) -> Any:
        if self.extractor_override is not None:
            return self.extractor_override
        from .extraction import extractor_from_settings

        return extractor_from_settings(self.settings)

    @cached_property
    def reranker(self) -> Any:
        if self.reranker_override is not None:
            return self.reranker_override
        from ..embedding.reranker import reranker_from_settings

        return reranker_from_settings(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        return VectorIndex(
            self.store, self.embedder.model_id, self.embedder.dimensions, threads=self.settings.embed_threads
        )


class Engine:
    """Memories of one account (``"local"`` for local use) in one database.

    All methods are synchronous and thread-safe; each write is one transaction.
    """

    def __init__(self, shared: _Shared, account: str = LOCAL_ACCOUNT) -> None:
        self._shared = shared
        self.account = account

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        extractor: Any = None,
        reranker: Any = None,
        ranking: RankingConfig | None = None,
    ) -> Engine:
        """Open (creating if needed) the memory database of ``home`` or ``settings``."""
        from ..store.sqlite import SqliteStore

        if settings is None:
            settings = Settings.load(home=Path(home) if home else None)
        elif home is not None:
            settings = settings.with_(home=Path(home))
        store = SqliteStore(settings.database_path)
        shared = _Shared(settings, store, ranking or DEFAULT_RANKING, embedder, extractor, reranker)
        return cls(shared)

    def for_account(self, account: str) -> Engine:
        """The same database and models, seen as another tenant (a server account or container)."""
        return Engine(self._shared, v.text(account, "account", 255))

    @property
    def store(self) -> Store:
        return self._shared.store

    @property
    def database(self) -> Any:
        """The SQLite :class:`~memorylayer.store.sqlite.Database` other stores may share."""
        return getattr(self._shared.store, "database", None)

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
        self._shared.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
    ) -> AddResult:
        """Store a keyed fact (upsert by ``(scope, key)``) or free text.

        Free text goes through the extractor (zero or more facts) unless ``extract=False``, which
        stores it verbatim. Unkeyed facts pass the dedup rules of :mod:`memorylayer.engine.dedup`.

        Raises:
            InvalidRequest: a value is empty, too long or of the wrong type; nothing is written.
            ExtractionFailed: the configured extraction model failed; nothing is written.
        """
        scope = v.scope(scope)
        value = v.memory_value(value)
        meta = v.metadata(metadata)
        if importance is not None:
            importance = v.unit_interval(importance, "importance")
        if key is not None:
            return self._upsert_key(scope, v.key(key), value, importance, meta, created_at)
        if extract is False:
            return self._store_facts(scope, [value], "explicit", meta, importance, [created_at], dedup=True)
        if importance is not None:
            raise InvalidRequest(
                "importance is only valid with key (explicit path)",
                details=[{"path": ["importance"], "message": "importance is only valid with key"}],
            )
        facts = self._shared.extractor.extract(value, prompt=prompt)
        if not facts:
            with self.store.transaction():
                self.store.touch_scope(self.account, scope)
            return AddResult(memories=[])
        return self._store_facts(scope, facts, "extracted", meta, None, [created_at] * len(facts), dedup=True)

    def add_many(
        self,
        scope: str,
        values: list[str],
        *,
        metadata: dict[str, Any] | None = None,
        created_at: list[int] | None = None,
        dedup: bool = True,
        source: str = "explicit",
    ) -> AddResult:
        """Store many texts verbatim in one transaction, embedded in batches.

        ``dedup=False`` stores every value even when it repeats (an append-only log, e.g. chat turns).
        """
        scope = v.scope(scope)
        if not isinstance(values, list) or not values:
            raise InvalidRequest("values: expected a non-empty list of strings")
        values = [v.memory_value(x, f"values[{i}]") for i, x in enumerate(values)]
        if created_at is not None and len(created_at) != len(values):
            raise InvalidRequest("created_at: expected one timestamp per value")
        source = v.choice(source, "source", SOURCES)
        stamps: list[int | None] = list(created_at) if created_at is not None else [None] * len(values)
        return self._store_facts(scope, values, source, v.metadata(metadata), None, stamps, dedup=dedup)

    def _new_record(
        self,
        scope: str,
        value: str,
        *,
        key: str | None,
        source: str,
        metadata: dict[str, Any],
        importance: float | None,
        created_at: int | None,
    ) -> MemoryRecord:
        now = now_ms()
        created = created_at if created_at is not None else now
        return MemoryRecord(
            id=str(uuid.uuid4()),
            scope=scope,
            key=key,
            value=value,
            metadata=metadata,
            importance=0.5 if importance is None else importance,
            source=source,
            status="ready",
            created_at=created,
            updated_at=max(created, now) if created_at is None else created,
            content_hash=content_hash(value),
            model=self.embedder.model_id,
            account=self.account,
        )

    def _upsert_key(
        self,
        scope: str,
        key: str,
        value: str,
        importance: float | None,
        metadata: dict[str, Any],
        created_at: int | None,
    ) -> AddResult:
        vector = self.embedder.embed([value])[0]
        store = self.store
        with store.transaction():
            existing = store.get_by_key(self.account, scope, key)
            if existing is None:
                record = self._new_record(
                    scope, value, key=key, source="explicit", metadata=metadata, importance=importance,
                    created_at=created_at,
                )
                store.insert(record, vector, index_terms(record))
                return AddResult(memories=[record])
            merged = {**existing.metadata, **metadata}
            new_importance = existing.importance if importance is None else importance
            if existing.value == value and merged == existing.metadata and new_importance == existing.importance:
                return AddResult(memories=[existing])
            store.add_history(self._history(existing, "updated", None), self.account)
            record = replace(
                existing,
                value=value,
                metadata=merged,
                importance=new_importance,
                updated_at=max(now_ms(), existing.updated_at + 1),
                content_hash=content_hash(value),
                model=self.embedder.model_id,
                source="explicit",
            )
            store.replace(record, vector, index_terms(record))
            return AddResult(memories=[record])

    def _store_facts(
        self,
        scope: str,
        facts: builtins.list[str],
        source: str,
        metadata: dict[str, Any],
        importance: float | None,
        created_at: builtins.list[int | None],
        *,
        dedup: bool,
        vectors: np.ndarray | None = None,
    ) -> AddResult:
        if vectors is None:
            vectors = self.embedder.embed(facts)  # before the transaction: never hold the lock while embedding
        store = self.store
        written: builtins.list[MemoryRecord] = []
        skipped: builtins.list[str] = []
        duplicates: builtins.list[str] = []
        superseded: builtins.list[str] = []
        with store.transaction():
            batch = _BatchDedup(self, scope, facts, vectors, source) if dedup else None
            for i, (fact, vector, stamp) in enumerate(zip(facts, vectors, created_at, strict=True)):
                decision = batch.decide(i) if batch is not None else Decision("insert")
                if decision.action == "skip":
                    skipped.append(fact)
                    duplicates.append(decision.target.id if decision.target is not None else "")
                    continue
                record = self._new_record(
                    scope, fact, key=None, source=source, metadata=metadata, importance=importance,
                    created_at=stamp,
                )
                store.insert(record, vector, index_terms(record))
                replaced = decision.target if decision.action == "supersede" else None
                if replaced is not None:
                    store.add_history(self._history(replaced, "superseded", record.id), self.account)
                    store.supersede(self.account, replaced.id, record.id)
                    superseded.append(replaced.id)
                if batch is not None:
                    batch.added(record, vector, replaced)
                written.append(record)
        return AddResult(memories=written, skipped=skipped, superseded=superseded, duplicates=duplicates)

    def _history(self, old: MemoryRecord, event: str, replaced_by: str | None) -> HistoryEntry:
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
        )

    def update(
        self,
        memory_id: str,
        *,
        value: str | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
    ) -> MemoryRecord:
        """Change a memory in place: new content is re-embedded, metadata merges, the old state goes to history.

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
        with self.store.transaction():
            existing = self.store.get(self.account, memory_id)
            if existing is None or existing.superseded_by is not None:
                raise NotFound(f"memory {memory_id} does not exist")
            new_value = existing.value if value is None else value
            new_metadata = {**existing.metadata, **meta}
            new_importance = existing.importance if importance is None else importance
            if (new_value, new_metadata, new_importance) == (existing.value, existing.metadata, existing.importance):
                return existing  # nothing changes: no history entry, no new timestamp
            record = replace(
                existing,
                value=new_value,
                metadata=new_metadata,
                importance=new_importance,
                updated_at=max(now_ms(), existing.updated_at + 1),
                content_hash=content_hash(new_value),
                model=self.embedder.model_id if vector is not None else existing.model,
            )
            self.store.add_history(self._history(existing, "updated", None), self.account)
            terms = index_terms(record) if value is not None else None
            self.store.replace(record, vector, terms)
            return record

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

    def get_key(self, scope: str, key: str) -> MemoryRecord | None:
        """The live memory under ``(scope, key)``, or None."""
        return self.store.get_by_key(self.account, v.scope(scope), v.key(key))

    def list(
        self,
        *,
        scope: str | None = None,
        source: str | None = None,
        search: str | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        order_by: str = "updated_at",
        order_dir: str = "desc",
        limit: int = 50,
        cursor: str | None = None,
        include_total: bool = False,
    ) -> Page:
        """One page of live memories. ``cursor`` continues exactly where the previous page ended.

        Raises:
            InvalidRequest: a bad filter, limit or cursor ("Invalid cursor").
        """
        query = ListQuery(
            account=self.account,
            scope=None if scope is None else v.scope(scope),
            source=None if source in (None, "all") else v.choice(source, "source", SOURCES),
            search=None if search is None else v.text(search, "search", 500),
            created_after=None if created_after is None else v.integer(created_after, "created_after", 0, 1 << 53),
            created_before=None if created_before is None else v.integer(created_before, "created_before", 0, 1 << 53),
            order_by=v.choice(order_by, "order_by", ORDER_BY),
            order_dir=v.choice(order_dir, "order_dir", ("asc", "desc")),
            limit=v.integer(limit, "limit", 1, 1000),
            after=_decode_cursor(cursor, order_by) if cursor else None,
        )
        rows = self.store.list(replace(query, limit=query.limit + 1))
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = _encode_cursor(getattr(rows[-1], order_by), rows[-1].id) if more and rows else None
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
        self, query: str, *, scope: str | None = None, top_k: int = 5, min_score: float = 0.0
    ) -> builtins.list[SearchHit]:
        """Hybrid keyword + semantic search; results best first with scores in [0, 1].

        Searches every scope of the account when ``scope`` is None.
        """
        query = v.query(query)
        top_k = v.integer(top_k, "top_k", 1, 1000)
        min_score = v.unit_interval(min_score, "min_score")
        scopes = [v.scope(scope)] if scope is not None else self.store.scopes(self.account)
        hits = self._rank(scopes, query, self.ranking.pool_size(top_k), top_k)
        return [hit for hit in hits if hit.score >= min_score]

    def recall(
        self,
        scope: str,
        query: str,
        *,
        max_items: int = 4,
        max_tokens: int = 150,
        threshold: str | None = "balanced",
        defaults: dict[str, str] | None = None,
    ) -> RecallResult:
        """Prompt-ready context for ``query`` from ``scope``, within ``max_items`` and ``max_tokens``.

        Tokens are approximated as 4 characters. Defaults fill remaining slots as ``key: value`` lines.
        """
        scope, query = v.scope(scope), v.query(query)
        max_items = v.integer(max_items, "max_items", 1, 50)
        max_tokens = v.integer(max_tokens, "max_tokens", 10, 2000)
        level = v.choice(threshold or "balanced", "threshold", ("strict", "balanced", "permissive"))
        floor = self.ranking.thresholds[level]
        if defaults is not None and (
            not isinstance(defaults, dict) or not all(isinstance(x, str) for x in (*defaults, *defaults.values()))
        ):
            raise InvalidRequest("defaults: expected an object of string values")
        max_chars = max_tokens * 4
        if not self.store.scope_exists(self.account, scope):
            context, _ = build_context([], defaults, max_items, max_chars)
            return RecallResult(context=context, memories=[], ranking=Ranking("user_not_found"))
        hits = self._rank([scope], query, self.ranking.pool_size(max_items), max_items, floor)
        context, kept = build_context([h.memory for h in hits], defaults, max_items, max_chars)
        kept_hits = hits[: len(kept)]
        self.store.mark_recalled(self.account, [m.id for m in kept], now_ms())
        strategy = "hybrid_rerank" if self._shared.reranker is not None else "hybrid"
        return RecallResult(
            context=context,
            memories=kept,
            ranking=Ranking(strategy, scores=[round(h.score, 4) for h in kept_hits]),
            hits=kept_hits,
        )

    def _rank(
        self, scopes: Iterable[str], query: str, pool: int, limit: int, floor: float = 0.0
    ) -> builtins.list[SearchHit]:
        """The best ``limit`` memories of ``scopes`` with relevance >= ``floor``, in final order.

        BM25 and vector candidates are fused and (optionally) reranked on their ranking columns;
        full rows are read only for the memories returned.
        """
        config, store, index = self.ranking, self.store, self._shared.index
        query_vector = self.embedder.embed([query])[0]
        terms = analyze_query(query)
        documents, frequencies = store.term_stats(terms)
        weights = {t: idf(documents, frequencies.get(t, 0)) for t in terms}
        match_terms = lexical_match_terms(terms, frequencies, documents, config)
        signals: dict[int, dict[str, float]] = {}
        for scope in scopes:
            found: dict[int, list[float]] = {}
            for rowid, bm25 in store.lexical(self.account, scope, match_terms, pool):
                found[rowid] = [0.0, bm25]
            lexical_only = set(found)
            for rowid, cosine in index.search(self.account, scope, query_vector, pool):
                found.setdefault(rowid, [0.0, 0.0])[0] = cosine
                lexical_only.discard(rowid)
            if lexical_only:
                for rowid, vector in index.vectors(self.account, scope, list(lexical_only)).items():
                    found[rowid][0] = float(vector @ query_vector)
            memory_terms = store.terms_for(list(found))
            for rowid, (cosine, bm25) in found.items():
                lexical = coverage(weights, memory_terms.get(rowid, set()))
                signals[rowid] = {
                    "semantic": cosine, "lexical": lexical, "bm25": bm25, "relevance": fuse(cosine, lexical, config),
                }
        fields = store.rank_fields(self.account, list(signals))
        signals = {r: s for r, s in signals.items() if r in fields}
        self._rerank(query, signals)
        now = now_ms()
        ranked = sorted(
            (
                (final_score(fields[rowid], s["relevance"], now, config), rowid)
                for rowid, s in signals.items()
                if s["relevance"] >= floor
            ),
            key=lambda item: (-item[0], -fields[item[1]].updated_at, fields[item[1]].id),
        )[:limit]
        records = store.get_many_by_rowid(self.account, [rowid for _, rowid in ranked])
        return [SearchHit(records[rowid], score, signals[rowid]) for score, rowid in ranked if rowid in records]

    def _rerank(self, query: str, signals: dict[int, dict[str, float]]) -> None:
        """Blend the cross-encoder's score into the relevance of the head of the list, in place."""
        reranker = self._shared.reranker
        if reranker is None or not signals:
            return
        config = self.ranking
        head = sorted(signals, key=lambda r: -signals[r]["relevance"])[: config.rerank_depth]
        records = self.store.get_many_by_rowid(self.account, head)
        head = [r for r in head if r in records]
        scores = reranker.score(query, [records[r].value for r in head])
        for rowid, score in zip(head, scores, strict=True):
            s = signals[rowid]
            s["rerank"] = float(score)
            s["relevance"] = config.rerank_weight * float(score) + (1 - config.rerank_weight) * s["relevance"]

    # -- bulk --------------------------------------------------------------------------------
    def export_jsonl(self, fp: IO[str], *, scope: str | None = None) -> int:
        """Write live memories as JSON Lines (one object per memory); returns how many."""
        count = 0
        for record in self.store.iter_records(self.account, None if scope is None else v.scope(scope)):
            line = {
                "id": record.id,
                "scope": record.scope,
                "key": record.key,
                "value": record.value,
                "metadata": record.metadata,
                "importance": record.importance,
                "source": record.source,
                "created_at": iso_ms(record.created_at),
                "updated_at": iso_ms(record.updated_at),
            }
            fp.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
        return count

    def import_jsonl(self, fp: IO[str], *, scope: str | None = None, progress: Progress | None = None) -> int:
        """Read JSON Lines written by :meth:`export_jsonl`; keyed lines upsert, exact duplicates are skipped.

        All lines are checked before anything is written, and the import is one transaction.

        Raises:
            InvalidRequest: a line is not valid JSON or not a memory (its line number is given).
        """
        items = list(_parse_jsonl(fp, scope))
        total = len(items)
        vectors = np.zeros((0, self.embedder.dimensions), dtype=np.float32)
        batch = 256
        parts = []
        for start in range(0, total, batch):
            parts.append(self.embedder.embed([item["value"] for item in items[start : start + batch]]))
            if progress:
                progress(min(start + batch, total), total)
        if parts:
            vectors = np.concatenate(parts)
        written = 0
        with self.store.transaction():
            for item, vector in zip(items, vectors, strict=True):
                written += self._import_one(item, vector)
        return written

    def _import_one(self, item: dict[str, Any], vector: np.ndarray) -> int:
        store = self.store
        scope, key = item["scope"], item.get("key")
        if key is not None:
            existing = store.get_by_key(self.account, scope, key)
            if existing is not None:
                if existing.value == item["value"]:
                    return 0
                store.add_history(self._history(existing, "updated", None), self.account)
                updated = replace(
                    existing, value=item["value"], content_hash=content_hash(item["value"]),
                    updated_at=max(now_ms(), existing.updated_at + 1), model=self.embedder.model_id,
                )
                store.replace(updated, vector, index_terms(updated))
                return 1
        elif store.find_by_hashes(self.account, scope, [content_hash(item["value"])]):
            return 0
        record = self._new_record(
            scope, item["value"], key=key, source="imported", metadata=item.get("metadata") or {},
            importance=item.get("importance"), created_at=item.get("created_at"),
        )
        if item.get("updated_at"):
            record = replace(record, updated_at=item["updated_at"])
        store.insert(record, vector, index_terms(record))
        return 1

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Re-embed every memory whose vector is missing or made by another model; returns how many."""
        model = self.embedder.model_id
        todo = list(self.store.iter_for_reindex(model))
        done = 0
        for start in range(0, len(todo), 256):
            chunk = todo[start : start + 256]
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


class _BatchDedup:
    """Dedup for one batch of unkeyed facts, against the scope's live memories and the batch's own.

    Everything that can be read once is: the nearest committed memory of every fact (one scan of the
    vector matrix per 64 facts) and the live memories with the batch's content hashes (one query).
    Facts the batch has already written are compared with one matrix product per fact.
    """

    def __init__(self, engine: Engine, scope: str, facts: list[str], vectors: np.ndarray, source: str) -> None:
        self._engine, self._scope, self._facts, self._vectors, self._source = engine, scope, facts, vectors, source
        # Search the committed state before this transaction writes anything, so the shared
        # vector index never caches a row that a rollback could undo.
        self._nearest = engine._shared.index.search_many(engine.account, scope, vectors, 1)
        self._by_hash = engine.store.find_by_hashes(engine.account, scope, [content_hash(f) for f in facts])
        self._fresh: list[MemoryRecord] = []
        self._fresh_vectors = np.zeros_like(vectors)

    def decide(self, i: int) -> Decision:
        fact, vector = self._facts[i], self._vectors[i]
        exact = self._by_hash.get(content_hash(fact))
        if exact is not None:
            return decide(self._source, exact, None, 1.0, 1.0)
        closest: MemoryRecord | None = None
        rowid, similarity = self._nearest[i][0] if self._nearest[i] else (None, 0.0)
        if self._fresh:
            scores = self._fresh_vectors[: len(self._fresh)] @ vector
            best = int(np.argmax(scores))
            if scores[best] > similarity:
                closest, similarity = self._fresh[best], float(scores[best])
        if similarity < RELATED:
            return Decision("insert")  # rule 2, without reading the neighbour's row
        if closest is None and rowid is not None:
            closest = self._engine.store.get_many_by_rowid(self._engine.account, [rowid]).get(rowid)
        if closest is None:  # the neighbour was superseded earlier in this batch
            return Decision("insert")
        shared = overlap(set(analyze(fact)), set(analyze(closest.value)))
        return decide(self._source, None, closest, similarity, shared)

    def added(self, record: MemoryRecord, vector: np.ndarray, replaced: MemoryRecord | None) -> None:
        """Record a written fact (and forget the one it superseded) for the rest of the batch."""
        self._by_hash[record.content_hash] = record
        if replaced is not None:
            self._by_hash.pop(replaced.content_hash, None)
            for j, fresh in enumerate(self._fresh):
                if fresh.id == replaced.id:
                    self._fresh_vectors[j] = 0.0
        self._fresh_vectors[len(self._fresh)] = vector
        self._fresh.append(record)


def lexical_match_terms(
    terms: list[str], frequencies: dict[str, int], documents: int, config: RankingConfig
) -> list[str]:
    """The query terms FTS5 matches on: rarest first, within a budget of postings.

    FTS5 scores every row a term occurs in (about 1 µs each), so a term found in a large share of
    all memories costs milliseconds at 100k memories and adds little to BM25. Such terms still count
    in ``coverage`` for every candidate; they just do not bring candidates in.
    """
    chosen, postings = [], 0
    for term in sorted(terms, key=lambda t: frequencies.get(t, 0)):
        frequency = frequencies.get(term, 0)
        if frequency > config.common_term_share * documents or postings + frequency > config.posting_budget:
            break
        chosen.append(term)
        postings += frequency
    return chosen


def index_terms(record: MemoryRecord) -> list[str]:
    """What BM25 indexes for a memory: its key, its value and the terms of its date."""
    return analyze(f"{record.key or ''} {record.value}", created_at=record.created_at)


def _encode_cursor(value: Any, memory_id: str) -> str:
    raw = json.dumps({"v": value, "id": memory_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: Any, order_by: str) -> tuple[Any, str]:
    invalid = InvalidRequest("Invalid cursor")
    if not isinstance(cursor, str):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or set(data) != {"v", "id"} or not isinstance(data["id"], str):
        raise invalid
    value = data["v"]
    expected = float if order_by == "importance" else int
    if value is not None and (isinstance(value, bool) or not isinstance(value, expected | int)):
        raise invalid
    return value, data["id"]


def _parse_jsonl(fp: IO[str], scope: str | None) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(fp, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InvalidRequest(f"line {number}: expected a JSON object")
        try:
            item: dict[str, Any] = {
                "scope": v.scope(scope if scope is not None else data.get("scope")),
                "value": v.memory_value(data.get("value")),
                "key": None if data.get("key") is None else v.key(data.get("key")),
                "metadata": v.metadata(data.get("metadata")),
                "importance": (
                    None if data.get("importance") is None else v.unit_interval(data["importance"], "importance")
                ),
                "created_at": _parse_time(data.get("created_at")),
                "updated_at": _parse_time(data.get("updated_at")),
            }
        except InvalidRequest as exc:
            raise InvalidRequest(f"line {number}: {exc.message}") from None
        yield item


def _parse_time(value: Any) -> int | None:
    from datetime import datetime

    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    raise InvalidRequest(f"bad timestamp {value!r}")
