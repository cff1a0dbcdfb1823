"""Typed response models of the /v1 wire protocol (spec/withmemory-v1.md).

The wire uses camelCase; these models expose snake_case attributes (``memory.created_at``) and accept
either spelling when built by hand. Every response model is the whole success envelope, as in the
TypeScript SDK (``response.memories``, ``response.container``), plus ``request_id``. Unknown fields a
newer server may add are kept (``model_extra``) rather than rejected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """Base of every model: camelCase on the wire, snake_case in Python, extra fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)


class Envelope(WireModel):
    """A success body: the payload plus the server's ``request_id`` (also sent as ``X-Request-Id``)."""

    request_id: str | None = Field(default=None, alias="request_id")


# --- memories ---------------------------------------------------------------------------------------


class Memory(WireModel):
    """One stored memory. ``key`` is ``None`` for memories extracted from free text."""

    id: str
    scope: str
    key: str | None = None
    value: str
    source: str
    status: str = "ready"
    status_error: str | None = None
    created_at: datetime
    updated_at: datetime
    #: Extensions: when it disappears on its own (if it does), and, in as-of answers, the interval
    #: its value held (``valid_to`` None: it still holds).
    expires_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class AddResponse(Envelope):
    """``add``: the memories written (one for a keyed add; zero or more for extraction)."""

    memories: list[Memory]


class BatchItemResult(WireModel):
    """What one item of ``add_batch`` became, by its ``index`` in the request.

    ``status``: ``stored``, ``updated`` (a key's new value; the old one in history), ``superseded``
    (a new memory that replaced the ones in ``supersedes``), ``duplicate`` (dedup kept the memory
    ``id``) or ``unchanged`` (the key already held this); in a ``partial`` batch also ``refused``:
    not written, ``id`` None, ``code`` ``invalid_request`` (``message`` names the field, ``details``
    holds the issues) or ``quota_exceeded`` (a new memory past the memory limit).
    """

    index: int
    status: Literal["stored", "updated", "superseded", "duplicate", "unchanged", "refused"]
    id: str | None
    supersedes: list[str] = []
    code: str | None = None
    message: str | None = None
    details: Any = None


class BatchResponse(Envelope):
    """``add_batch`` (an extension): the memories written or updated, how many dedup skipped, and per item."""

    memories: list[Memory]
    skipped: int = 0
    results: list[BatchItemResult] = []


class GetResponse(Envelope):
    """``get``: the live memory under ``(scope, key)``, or ``None``."""

    memory: Memory | None = None


class Deleted(WireModel):
    deleted: bool


class DeleteResponse(Envelope):
    """``remove`` / ``delete``: whether anything was deleted."""

    result: Deleted


class ListResponse(Envelope):
    """One page of ``list``. ``next_cursor`` is ``None`` on the last page; ``total`` only when asked."""

    memories: list[Memory]
    next_cursor: str | None = None
    total: int | None = None


class Ranking(WireModel):
    """``strategy`` is the wire's (``semantic``, ``recency_importance``, ``user_not_found``); the rest
    are this server's extensions (None from a server that does not send them)."""

    strategy: str
    reason: str | None = None
    ordering: str | None = None
    signals: list[str] | None = None
    scores: list[float] | None = None


class RecallResponse(Envelope):
    """``recall``: the prompt-ready ``context``, the memories it came from, and how they were ranked."""

    context: str
    memories: list[Memory]
    ranking: Ranking


class DocumentResponse(Envelope):
    """``remember_document`` (an extension, remember(chunk)): the chunks in reading order (keys
    ``<document>#<i>``) and how many chunks of an earlier version were removed."""

    document: str
    chunks: list[Memory]
    removed: int = 0


class NeighboursResponse(Envelope):
    """``neighbours``: a document chunk with the chunks around it, in reading order."""

    memories: list[Memory]


class Evidence(WireModel):
    """A memory an answer rests on, with its recall score in [0, 1]."""

    memory: Memory
    score: float


class AnswerResponse(Envelope):
    """``answer`` (an extension, recall(answer)): ``answer`` None means not in memory; ``citations`` are
    memory ids; ``method`` is ``llm`` or ``extractive``; ``context`` is the sentence an extractive
    answer was taken from."""

    answer: str | None
    found: bool
    citations: list[str]
    method: str
    evidence: list[Evidence]
    context: str | None = None


class Step(WireModel):
    """One link an explored memory was reached by: from memory ``from_`` (wire ``from``) along ``kind``."""

    from_: str = Field(alias="from")
    kind: str
    weight: float
    label: str = ""


class ExploreHit(WireModel):
    """A memory explore returned: ``hop`` 0 is a recall hit, else ``path`` leads to it from one."""

    memory: Memory
    score: float
    hop: int
    path: list[Step]


class ExploreResponse(Envelope):
    """``explore`` (an extension, recall(explore)): hits best first; ``reached`` memories activated."""

    hits: list[ExploreHit]
    reached: int


class WeaveResponse(Envelope):
    """``weave`` (an extension): the links of each kind the namespace holds now."""

    scope: str
    links: dict[str, int]
    memories: int


class Dependant(WireModel):
    """A memory resting on the rippled one: ``kind`` of link, ``via`` the memory it rests on directly."""

    memory: Memory
    kind: str
    via: str
    flagged: bool


class RippleResponse(Envelope):
    """``ripple`` (an extension): memories derived from one (``dependants``) and only linked (``related``)."""

    memory_id: str
    applied: bool
    dependants: list[Dependant]
    related: list[Dependant]


class Merge(WireModel):
    """Near duplicates folded into ``kept`` (a member, or the summary written for them; None in a dry run)."""

    kept: str | None
    members: list[str]
    similarity: float
    summary: str | None = None


class Decay(WireModel):
    """A stale low-importance memory that left the live set (its last state is in history)."""

    memory_id: str
    activation: float
    importance: float


class Composite(WireModel):
    """Memories recalled together ``corecalls`` times, compiled into one (``id`` None in a dry run)."""

    id: str | None
    parts: list[str]
    corecalls: int
    value: str


class ConsolidateResponse(Envelope):
    """``consolidate`` (an extension): what was (``dry_run``: would be) merged, decayed or composed."""

    scope: str
    mode: str
    dry_run: bool
    method: str
    merged: int
    decayed: int
    composed: int
    live_before: int
    live_after: int
    merges: list[Merge]
    decays: list[Decay]
    composites: list[Composite]


class VerifyEvidence(WireModel):
    """A memory a verdict rests on: the ``check`` that decided (``key``, ``slot``, ``negation``,
    ``number``, ``date``, ``overlap`` or ``llm``) and the ``reason`` in words."""

    memory: Memory
    check: str
    reason: str


class VerifyResponse(Envelope):
    """``verify`` (an extension): ``verdict`` is ``supported``, ``contradicted`` or
    ``not_enough_information``; ``method`` is ``rules`` or ``llm``."""

    statement: str
    verdict: Literal["supported", "contradicted", "not_enough_information"]
    method: str
    evidence: list[VerifyEvidence]


class OperationBudget(WireModel):
    used: int
    limit: int | None


class AdvancedOperations(WireModel):
    allowed: bool
    operations: list[str]


class Budgets(WireModel):
    """This month's operation budgets of the calling API key (limit None: unlimited)."""

    plan_tier: str
    key_id: str
    month: str
    resets_at: datetime
    operations: dict[str, OperationBudget]
    advanced_operations: AdvancedOperations


class BudgetsResponse(Envelope):
    budgets: Budgets


# --- account ----------------------------------------------------------------------------------------


class Health(WireModel):
    status: str
    version: str | None = None


class HealthResponse(Envelope):
    health: Health


class Account(WireModel):
    id: str
    email: str
    plan_tier: str
    plan_status: str
    memory_limit: int
    monthly_api_call_limit: int | None = None
    created_at: datetime


class KeyInfo(WireModel):
    """The calling key. ``scopes`` is the raw comma-separated string; ``scope_list`` splits it."""

    id: str
    scopes: str
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None

    @property
    def scope_list(self) -> list[str]:
        return [part.strip() for part in self.scopes.split(",") if part.strip()]


class WhoamiResponse(Envelope):
    account: Account
    key: KeyInfo


class Usage(WireModel):
    memory_count: int
    memory_limit: int
    container_count: int
    container_limit: int | None = None
    api_calls_this_period: int | None = None
    monthly_api_call_limit: int | None = None
    api_calls_reset_at: datetime | None = None


class UsageResponse(Envelope):
    usage: Usage


class BillingActions(WireModel):
    checkout: str | None = None
    portal: str | None = None


class Billing(WireModel):
    plan_tier: str
    plan_status: str
    current_period_end: datetime | None = None
    usage: Usage
    actions: BillingActions


class BillingResponse(Envelope):
    billing: Billing


class Checkout(WireModel):
    url: str
    session_id: str | None = None


class CheckoutResponse(Envelope):
    checkout: Checkout


class Portal(WireModel):
    url: str


class PortalResponse(Envelope):
    portal: Portal


class ExtractionPrompt(WireModel):
    """``prompt`` is ``None`` and ``source`` is ``"default"`` when no custom prompt is set."""

    prompt: str | None = None
    source: str


class ExtractionPromptResponse(Envelope):
    extraction_prompt: ExtractionPrompt


class ResetResult(WireModel):
    reset: bool


class ResetResponse(Envelope):
    result: ResetResult


# --- containers -------------------------------------------------------------------------------------


class Container(WireModel):
    """An isolated sub-account. Which optional fields are present depends on the route (spec §10.1)."""

    id: str
    parent_account_id: str
    name: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    plan_tier: str | None = None
    memory_limit: int | None = None
    memory_count: int | None = None
    active_key_count: int | None = None
    created_at: datetime


class ContainerResponse(Envelope):
    container: Container


class ContainerListResponse(Envelope):
    containers: list[Container]
    total: int


class ContainerKey(WireModel):
    id: str
    account_id: str
    key_prefix: str
    scopes: str
    issued_to: str | None = None
    expires_at: datetime | None = None
    created_at: datetime


class ContainerKeyResponse(Envelope):
    """``containers.create_key``: the key's record and ``raw_key``, shown this once only."""

    key: ContainerKey
    raw_key: str


class Revoked(WireModel):
    revoked: bool
    revoked_at: datetime | None = None


class RevokeKeyResponse(Envelope):
    result: Revoked


# --- caches -----------------------------------------------------------------------------------------


class CacheInfo(WireModel):
    id: str
    raw_token: str
    claim_token: str
    claim_url: str
    expires_at: datetime


class CacheCreateResponse(Envelope):
    cache: CacheInfo


class CacheEntry(WireModel):
    key: str
    value: str
    created_at: datetime
    updated_at: datetime


class CacheEntryResponse(Envelope):
    """``cache.set`` / ``cache.get``; ``entry`` is ``None`` when ``get`` finds nothing."""

    entry: CacheEntry | None = None


class CacheKey(WireModel):
    key: str
    created_at: datetime
    updated_at: datetime


class CacheListResponse(Envelope):
    """``cache.list``: keys sorted ascending, without values."""

    entries: list[CacheKey]


class ClaimResult(WireModel):
    claimed: bool
    container_id: str
    memories_created: int
    scope: str
    container_key: str


class ClaimResponse(Envelope):
    """``cache.claim``: the new container, the ``scope`` to recall from and a read-only key (shown once)."""

    result: ClaimResult


# --- signup -----------------------------------------------------------------------------------------


class Sent(WireModel):
    sent: bool


class RequestCodeResponse(Envelope):
    result: Sent


class VerifiedKey(WireModel):
    api_key: str
    account_id: str
    is_new_account: bool


class VerifyCodeResponse(Envelope):
    result: VerifiedKey


# --- code memory and formal reasoning (extensions, docs/reasoning.md) -------------------------


class CodeIngestResponse(Envelope):
    """What ``code_ingest`` did: files added / changed / unchanged / removed, symbols written, skipped files."""

    summary: dict[str, Any]


class CodeLocateResponse(Envelope):
    """``code_locate``: places best first, each with ``location`` (``path:start-end``), ``symbol``, ``snippet``."""

    locations: list[dict[str, Any]]


class DomainResponse(Envelope):
    """A scope's domain document, as declared."""

    domain: dict[str, Any]


class ProveResponse(Envelope):
    """``proof.status`` is proved, refuted (with ``counterexample``) or unknown (with ``reason``)."""

    proof: dict[str, Any]


class AuditResponse(Envelope):
    """``audit.conflicts``: each names the facts (memories) and rules that cannot all hold."""

    audit: dict[str, Any]
