"""The memory operations of :class:`~memorylayer.engine.Engine` (docs/operations.md): remember(chunk)
and recall(answer), each one engine call the edges (REST, SDK, CLI, MCP) stay thin over."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .. import limits
from ..errors import InvalidRequest
from ..types import DocumentResult, MemoryRecord, NewMemory, SearchHit
from . import validation as v
from .answer import EVIDENCE as ANSWER_EVIDENCE
from .answer import Answer, ask_model, extractive
from .chunking import chunk_key, split_document
from .verify import CANDIDATES as VERIFY_CANDIDATES
from .verify import Verification, judge, named_keys
from .verify import ask_model as ask_judge

if TYPE_CHECKING:
    from ..store.base import Backend
    from ..types import AddResult, RecallResult
    from .shared import Shared
    from .writes import Admit, Dedup, Prepared


#: Words and word pairs of a statement looked up as keys, at most.
_KEY_LOOKUPS = 60


class _Engine(Protocol):
    """What the operations use of Engine (mypy checks Engine provides it)."""

    _shared: Shared

    @property
    def backend(self) -> Backend: ...
    def prepare(self, scope: str, items: list[NewMemory], *, dedup: Dedup = ...) -> Prepared: ...
    def commit(self, prepared: Prepared, admit: Admit | None = ...) -> AddResult: ...
    def remove(self, scope: str, key: str) -> bool: ...
    def get(self, memory_id: str) -> MemoryRecord: ...
    def get_key(self, scope: str, key: str) -> MemoryRecord | None: ...
    def recall(
        self,
        scope: str,
        query: str,
        *,
        max_items: int = ...,
        max_tokens: int = ...,
        threshold: str | None = ...,
        record_access: bool = ...,
    ) -> RecallResult: ...


class Operations:
    """Mixed into Engine; every method runs on the engine's account, like Engine's own."""

    def remember_document(
        self: _Engine,
        scope: str,
        document: str,
        text: str,
        *,
        importance: float | None = None,
        admit: Admit | None = None,
    ) -> DocumentResult:
        """remember(chunk): store ``text`` as chunks split on its structure, linked to ``document``.

        Chunk ``i`` is the keyed memory ``<document>#<i>`` with metadata ``document``, ``chunk``,
        ``chunks`` and ``heading``. Re-remembering a document replaces its chunks in one transaction:
        changed ones upsert (the old text stays in history), surplus old ones are deleted.

        Raises:
            InvalidRequest: a bad scope, document name or importance; blank text, text over
                DOCUMENT_MAX_BYTES, or more than DOCUMENT_CHUNKS chunks. Nothing is written.
        """
        scope = v.scope(scope)
        document = v.text(document, "document", limits.DOCUMENT_NAME, name=True)
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("text: expected a non-blank document")
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > limits.DOCUMENT_MAX_BYTES:
            raise InvalidRequest(f"text: {size:,} bytes is over the document limit of {limits.DOCUMENT_MAX_BYTES:,}")
        if "\x00" in text:
            raise InvalidRequest("text: must not contain NUL characters")
        weight = None if importance is None else v.unit_interval(importance, "importance")
        chunks = split_document(text)
        if len(chunks) > limits.DOCUMENT_CHUNKS.max:
            raise InvalidRequest(f"text: {len(chunks):,} chunks is over the limit of {limits.DOCUMENT_CHUNKS.max:,}")
        items = [
            NewMemory(
                c.value,
                key=chunk_key(document, c.position),
                metadata={"document": document, "chunk": c.position, "chunks": len(chunks), "heading": c.heading},
                importance=weight,
            )
            for c in chunks
        ]
        prepared = self.prepare(scope, items, dedup="none")
        with self.backend.transaction():
            first = self.get_key(scope, chunk_key(document, 0))
            before = int(first.metadata.get("chunks", 0)) if first is not None else 0
            removed = sum(self.remove(scope, chunk_key(document, i)) for i in range(len(chunks), before))
            result = self.commit(prepared, admit)
        by_key = {m.key: m for m in result.memories}
        stored = [by_key.get(item.key) or self.get_key(scope, item.key or "") for item in items]
        return DocumentResult(document, [m for m in stored if m is not None], removed)

    def neighbours(self: _Engine, memory_id: str, *, radius: int = 1) -> list[MemoryRecord]:
        """The chunks around a document chunk, ``radius`` each side, in reading order (itself included).

        A memory that is not a chunk is its own only neighbour.

        Raises:
            NotFound: no live memory has that id. InvalidRequest: a radius outside 0-10.
        """
        radius = v.integer(radius, "radius", limits.NEIGHBOUR_RADIUS)
        memory = self.get(memory_id)
        document, position = memory.metadata.get("document"), memory.metadata.get("chunk")
        if not isinstance(document, str) or not isinstance(position, int):
            return [memory]
        around = range(max(0, position - radius), position + radius + 1)
        found = [self.get_key(memory.scope, chunk_key(document, i)) for i in around]
        return [m for m in found if m is not None]

    def answer(
        self: _Engine,
        scope: str,
        question: str,
        *,
        max_items: int = ANSWER_EVIDENCE,
        threshold: str | None = limits.DEFAULT_THRESHOLD,
        offline: bool = False,
    ) -> Answer:
        """recall(answer): an answer to ``question`` from ``scope`` with the memories it rests on.

        The evidence is what :meth:`recall` keeps for the question (up to ``max_items``). With an
        OpenAI-compatible model configured (and ``offline`` False) the model answers from it and cites
        memory ids; otherwise the best supported span of the evidence is (``context``: its sentence).
        ``answer`` None: not in memory.

        Raises:
            InvalidRequest: a bad scope, question, max_items or threshold.
            ExtractionFailed: the configured model could not be reached or answered something unusable.
        """
        budget = limits.MAX_TOKENS.max
        result = self.recall(scope, question, max_items=max_items, max_tokens=budget, threshold=threshold)
        question = question.strip()
        model = self._shared.extractor
        if not offline and hasattr(model, "complete_json"):
            return ask_model(model, question, result.hits)
        return extractive(question, result.hits)

    def verify(
        self: _Engine, scope: str, statement: str, *, max_items: int = VERIFY_CANDIDATES, offline: bool = False
    ) -> Verification:
        """verify: ``statement`` checked against ``scope``: supported, contradicted or not enough information.

        The candidates are what :meth:`recall` finds for the statement (up to ``max_items``, the
        permissive threshold; a check is not a use, so access history is untouched). Offline, keyed
        facts, slots, numbers, dates and negation decide (:mod:`.verify`); with a model configured
        (and ``offline`` False) the model judges and cites memory ids.

        Raises:
            InvalidRequest: a bad scope, statement or max_items.
            ExtractionFailed: the configured model could not be reached or answered no verdict.
        """
        statement = v.text(statement, "statement", limits.STATEMENT).strip()
        budget = limits.MAX_TOKENS.max
        found = self.recall(
            scope, statement, max_items=max_items, max_tokens=budget, threshold="permissive", record_access=False
        )
        # A keyed fact the statement names is a candidate even when its value reads nothing like the
        # statement ("my timezone is UTC+2" against "UTC+1"): looked up by key, not by similarity.
        seen = {h.memory.id for h in found.hits}
        keyed = [m for k in named_keys(statement)[:_KEY_LOOKUPS] if (m := self.get_key(scope, k)) is not None]
        hits = found.hits + [SearchHit(m, 1.0) for m in keyed if m.id not in seen]
        model = self._shared.extractor
        if not offline and hasattr(model, "complete_json"):
            return ask_judge(model, statement, hits)
        return judge(statement, hits)
