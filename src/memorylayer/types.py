"""The records every part of MemoryLayer exchanges: memories, history, pages, search and recall results.

They sit below the engine and the stores, so a store never imports the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Source = Literal["explicit", "extracted", "imported"]
Threshold = Literal["strict", "balanced", "permissive"]
OrderBy = Literal["updated_at", "created_at", "importance", "last_recalled_at"]
OrderDir = Literal["asc", "desc"]

LOCAL_ACCOUNT = "local"


def now_ms() -> int:
    """Milliseconds since the epoch, UTC: the precision every stored time has."""
    return int(datetime.now(UTC).timestamp() * 1000)


def iso_ms(ms: int | None) -> str | None:
    """JavaScript ``toISOString()`` form: ``2026-11-22T01:56:43.791Z``."""
    if ms is None:
        return None
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True)
class MemoryRecord:
    """One live (or historical) memory. Times are integer milliseconds since the epoch, UTC."""

    id: str
    scope: str
    key: str | None
    value: str
    metadata: dict[str, Any]
    importance: float
    source: str
    status: str
    created_at: int
    updated_at: int
    last_recalled_at: int | None = None
    recall_count: int = 0
    content_hash: str = ""
    model: str | None = None
    superseded_by: str | None = None
    account: str = LOCAL_ACCOUNT
    #: When the memory disappears on its own (None: never). Expired memories are never read back.
    expires_at: int | None = None
    #: Since when its value holds (default: ``created_at``) and until when (None: still now);
    #: ``valid_to`` is set when a newer value supersedes it in the same key or slot.
    valid_from: int | None = None
    valid_to: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with ISO timestamps (used by the CLI, MCP tools and export)."""
        data = asdict(self)
        for name in ("created_at", "updated_at", "last_recalled_at", "expires_at", "valid_from", "valid_to"):
            data[name] = iso_ms(data[name])
        return data


@dataclass(frozen=True)
class HistoryEntry:
    """A past state of a memory: the value it had until ``replaced_at`` and why it changed."""

    memory_id: str
    scope: str
    key: str | None
    value: str
    metadata: dict[str, Any]
    importance: float
    source: str
    event: str  # "updated" | "superseded" | "deleted"
    replaced_at: int
    replaced_by: str | None = None
    #: The interval this value held: from ``valid_from`` (None: unknown, a file older than validity)
    #: until ``valid_to`` (when the newer value took over).
    valid_from: int | None = None
    valid_to: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("replaced_at", "valid_from", "valid_to"):
            data[name] = iso_ms(data[name])
        return data


@dataclass(frozen=True)
class Page:
    """One page of ``list``; ``next_cursor`` is opaque and exact (no row repeated or skipped)."""

    memories: list[MemoryRecord]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class Namespace:
    scope: str
    count: int
    last_updated: int | None


@dataclass(frozen=True)
class SearchHit:
    """A search result: ``score`` is in [0, 1] and comparable across calls."""

    memory: MemoryRecord
    score: float
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranking:
    """How recall ordered its memories.

    ``strategy`` and ``reason`` take the wire's values only (``semantic``, ``recency_importance`` with
    ``reason="embedding_unavailable"``, ``user_not_found``), so typed clients branch right. Our own
    detail is extra: ``ordering`` (``relevance``, ``profile`` for a generic query, or
    ``recency_importance``), the ``signals`` that ranked the memories, and each kept memory's score.
    """

    strategy: str
    reason: str | None = None
    scores: list[float] = field(default_factory=list)
    ordering: str = "relevance"
    signals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecallResult:
    """The context, the memories in it with their hits, and (when asked) the best ones left out."""

    context: str
    memories: list[MemoryRecord]
    ranking: Ranking
    hits: list[SearchHit] = field(default_factory=list)
    left_out: list[SearchHit] = field(default_factory=list)


@dataclass(frozen=True)
class AddResult:
    """What an add wrote: ``memories`` new or updated rows; ``skipped`` facts dedup dropped.

    ``duplicates[i]`` is the id of the live memory that made dedup skip ``skipped[i]``; ``unchanged``
    the ids among ``memories`` of keyed facts that already held exactly this.
    """

    memories: list[MemoryRecord]
    skipped: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: One per input item, in input order (what became of it).
    items: list[ItemResult] = field(default_factory=list)


#: ``stored``: a new memory; ``updated``: a keyed memory took the new value in place (the old one
#: stays in its history); ``superseded``: a new memory replaced older ones (a near duplicate it
#: improves on, or an older value of its slot); ``duplicate``: dedup kept the existing memory;
#: ``unchanged``: the key already held exactly this; ``refused`` (a partial batch only): not written,
#: ``code`` and ``message`` say why.
ItemStatus = Literal["stored", "updated", "superseded", "duplicate", "unchanged", "refused"]


@dataclass(frozen=True)
class ItemResult:
    """What one item of a write became: ``id`` the memory holding it now; ``supersedes`` the ones it replaced.

    A ``refused`` item has no ``id`` (``""``); its ``code`` is an error's stable code
    (``invalid_request``, ``quota_exceeded``), its ``message`` names the field, ``details`` the issues.
    """

    index: int
    status: ItemStatus
    id: str
    supersedes: list[str] = field(default_factory=list)
    code: str | None = None
    message: str | None = None
    details: Any = None


@dataclass(frozen=True)
class Refused:
    """An item of a partial batch that an edge could not even build (a bad line, a schema issue).

    It takes the item's place in ``Engine.add_batch(..., partial=True)``, which reports it as
    ``refused`` with this ``code``, ``message`` and ``details``, in its position.
    """

    code: str
    message: str
    details: Any = None


@dataclass(frozen=True)
class NewMemory:
    """One memory to write: keyed (upsert by ``(scope, key)``) or not (dedup rules apply).

    ``created_at`` says when it happened (default: now); ``updated_at`` is kept only by imports.
    ``expires_at`` makes it disappear on its own at that instant.
    """

    value: str
    key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    importance: float | None = None
    created_at: int | None = None
    updated_at: int | None = None
    source: str = "explicit"
    expires_at: int | None = None


@dataclass(frozen=True)
class DocumentResult:
    """remember(chunk): the document's chunks in reading order, and how many old chunks were removed."""

    document: str
    chunks: list[MemoryRecord]
    removed: int = 0


#: The kinds of link between two memories. ``entity``, ``conversation``, ``document`` and ``co_recall``
#: are symmetric (stored once, source the smaller id); ``supersedes`` runs from the newer value to the
#: older, ``derived`` from a summary to a memory it was made from, ``part_of`` from a composite to a part.
LINK_KINDS = ("entity", "conversation", "document", "supersedes", "co_recall", "derived", "part_of")
SYMMETRIC_LINKS = frozenset({"entity", "conversation", "document", "co_recall"})


@dataclass(frozen=True)
class Link:
    """A weighted, directed edge between two memories of one scope (see :data:`LINK_KINDS`)."""

    source: str
    target: str
    kind: str
    weight: float = 1.0
    #: What the link rests on, for a reader following it (the shared entity, the document's name).
    label: str = ""
