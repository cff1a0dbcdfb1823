"""What the tools answer: the seed's field names, as JSON text and as ``structuredContent``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..types import MemoryRecord, Ranking


class MemoryOut(BaseModel):
    memory_id: str
    content: str
    namespace: str
    key: str | None
    metadata: dict[str, Any]
    importance: float
    source: str
    created_at: str | None
    updated_at: str | None
    #: When it disappears on its own (None: never), and the interval its value holds (valid_to None: now).
    expires_at: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None


class SearchResultOut(BaseModel):
    memory_id: str
    content: str
    score: float
    namespace: str
    metadata: dict[str, Any]
    created_at: str | None


class NamespaceOut(BaseModel):
    namespace: str
    count: int
    last_updated: str | None


class StoreOut(BaseModel):
    memory_id: str
    status: Literal["stored", "duplicate"]


class DeleteOut(BaseModel):
    memory_id: str
    status: Literal["deleted"]


class SearchOut(BaseModel):
    results: list[SearchResultOut]


class ListOut(BaseModel):
    memories: list[MemoryOut]


class NamespacesOut(BaseModel):
    namespaces: list[NamespaceOut]


class RankingOut(BaseModel):
    strategy: str
    reason: str | None
    ordering: str | None = None
    signals: list[str] = []
    scores: list[float] = []


class RecallOut(BaseModel):
    context: str
    memories: list[MemoryOut]
    ranking: RankingOut


class DocumentOut(BaseModel):
    document: str
    chunks: list[MemoryOut]
    removed: int


class BatchItemOut(BaseModel):
    index: int
    status: Literal["stored", "updated", "superseded", "duplicate", "unchanged", "refused"]
    memory_id: str | None
    supersedes: list[str]
    #: A refused item's (``partial``): ``invalid_request`` or ``quota_exceeded``, and what was wrong.
    code: str | None = None
    message: str | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class VerifyEvidenceOut(BaseModel):
    memory: MemoryOut
    check: str
    reason: str


class VerifyOut(BaseModel):
    statement: str
    verdict: Literal["supported", "contradicted", "not_enough_information"]
    method: str
    evidence: list[VerifyEvidenceOut]


class EvidenceOut(MemoryOut):
    score: float


class AnswerOut(BaseModel):
    answer: str | None
    found: bool
    citations: list[str]
    method: str
    context: str | None = None
    evidence: list[EvidenceOut]


def ranking_out(ranking: Ranking) -> dict[str, Any]:
    """The wire's strategy and reason, then our ordering, signals and scores (clients may ignore them)."""
    return {
        "strategy": ranking.strategy,
        "reason": ranking.reason,
        "ordering": ranking.ordering,
        "signals": ranking.signals,
        "scores": ranking.scores,
    }


def memory_out(record: MemoryRecord) -> dict[str, Any]:
    """A memory in the seed's shape (``memory_id``, ``content``, ``namespace``…)."""
    data = record.to_dict()
    return {
        "memory_id": record.id,
        "content": record.value,
        "namespace": record.scope,
        "key": record.key,
        "metadata": record.metadata,
        "importance": record.importance,
        "source": record.source,
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
        "expires_at": data["expires_at"],
        "valid_from": data["valid_from"] or data["created_at"],
        "valid_to": data["valid_to"],
    }


def _result(text_value: Any, structured: dict[str, Any]) -> CallToolResult:
    """One JSON text block (what the model reads: the seed's shape, arrays included) plus
    ``structuredContent`` (always an object, as MCP requires: arrays go under one named field)."""
    text = json.dumps(text_value, ensure_ascii=False, indent=2)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def obj(value: dict[str, Any]) -> CallToolResult:
    """An object result: the same object as text and as structured content."""
    return _result(value, value)


def array(field: str, items: list[dict[str, Any]]) -> CallToolResult:
    """An array result: the array as text, ``{field: items}`` as structured content."""
    return _result(items, {field: items})


# ---- code memory and formal reasoning (the engine's records as they are) ------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class IngestOut(_Open):
    files: int
    added: int
    changed: int
    unchanged: int
    removed: int
    symbols: int


class LocationOut(_Open):
    location: str
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    snippet: str
    score: float


class LocateOut(BaseModel):
    locations: list[LocationOut]


class DomainOut(BaseModel):
    domain: dict[str, Any]


class ProofOut(_Open):
    status: Literal["proved", "refuted", "unknown"]
    rules: list[str]
    facts: list[dict[str, Any]]
    counterexample: dict[str, Any] | None


class AuditOut(_Open):
    consistent: bool
    complete: bool
    conflicts: list[dict[str, Any]]


class MergeOut(BaseModel):
    kept: str | None
    members: list[str]
    similarity: float
    summary: str | None


class DecayOut(BaseModel):
    memory_id: str
    activation: float
    importance: float


class CompositeOut(BaseModel):
    id: str | None
    parts: list[str]
    corecalls: int
    value: str


class ConsolidateOut(BaseModel):
    scope: str
    mode: Literal["merge", "compose"]
    dry_run: bool
    method: Literal["llm", "offline"]
    merged: int
    decayed: int
    composed: int
    live_before: int
    live_after: int
    merges: list[MergeOut]
    decays: list[DecayOut]
    composites: list[CompositeOut]


class WeaveOut(BaseModel):
    scope: str
    links: dict[str, int]
    memories: int


class StepOut(BaseModel):
    from_: str = Field(alias="from")
    kind: str
    weight: float
    label: str


class ExploreHitOut(BaseModel):
    memory: MemoryOut
    score: float
    hop: int
    path: list[StepOut]


class ExploreOut(BaseModel):
    hits: list[ExploreHitOut]
    reached: int


class DependantOut(BaseModel):
    memory: MemoryOut
    kind: str
    via: str
    flagged: bool


class RippleOut(BaseModel):
    memory_id: str
    applied: bool
    dependants: list[DependantOut]
    related: list[DependantOut]
