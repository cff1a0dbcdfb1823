"""The MCP tools: thin edges that validate arguments, call the engine and shape the result.

Each tool is a plain function; ``build_server`` (``server.py``) registers the ones in ``TOOLS``.
A tool finds its engine through the server's ``Access`` (``engine_for``), so the same code serves
every transport. Every bound in the argument types comes from ``memorylayer.limits``, so a tool's
published input schema refuses what the engine would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from .. import limits as L
from ..errors import InvalidRequest, NotFound
from ..types import iso_ms
from . import batch
from .access import READ_SCOPE, WRITE_SCOPE, ToolContext, engine_for
from .results import (
    AnswerOut,
    AuditOut,
    BatchOut,
    ConsolidateOut,
    DeleteOut,
    DocumentOut,
    DomainOut,
    ExploreOut,
    IngestOut,
    ListOut,
    LocateOut,
    MemoryOut,
    NamespacesOut,
    ProofOut,
    RecallOut,
    RippleOut,
    SearchOut,
    StoreOut,
    VerifyOut,
    WeaveOut,
    array,
    memory_out,
    obj,
    ranking_out,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine import Engine
    from ..types import AddResult, MemoryRecord

DEFAULT_NAMESPACE = "default"
#: Cursor page size used to walk to an offset of ``memory_list``.
_PAGE = 100

# ---- argument types ------------------------------------------------------------------------------
# JSON Schema and pydantic count code points, the engine UTF-16 units: for text outside the BMP the
# engine's check is the stricter one, and its refusal is an ``invalid_request`` too.


def _text(bounds: L.Bounds, description: str) -> Any:
    return Field(min_length=bounds.min, max_length=bounds.max, description=description)


def _int(bounds: L.Bounds, description: str) -> Any:
    return Field(ge=bounds.min, le=bounds.max, description=description)


Content = Annotated[str, _text(L.VALUE, "The text to remember")]
Namespace = Annotated[
    str,
    _text(L.SCOPE, "Logical bucket for grouping memories (e.g. 'work', 'personal'). Defaults to 'default'"),
]
MemoryId = Annotated[str, _text(L.MEMORY_ID, "The ID returned by memory_store")]
Metadata = Annotated[dict[str, Any] | None, Field(description="Arbitrary key-value pairs attached to the memory")]
SearchQuery = Annotated[str, _text(L.QUERY, "Natural language search query")]
SearchNamespace = Annotated[
    str | None, _text(L.SCOPE, "Restrict search to this namespace. Searches all namespaces if omitted")
]
TopK = Annotated[
    int,
    _int(L.MCP_TOP_K, f"Number of results to return. Default: {L.DEFAULT_TOP_K}, max: {L.MCP_TOP_K.max}"),
]
MinScore = Annotated[
    float,
    Field(
        ge=float(L.SCORE_MIN),
        le=float(L.SCORE_MAX),
        description=f"Minimum relevance score {L.SCORE_MIN}–{L.SCORE_MAX}. Default: 0.0",
    ),
]
ListNamespace = Annotated[str, _text(L.SCOPE, "Namespace to list. Defaults to 'default'")]
ListLimit = Annotated[
    int,
    _int(L.MCP_LIST_LIMIT, f"Max results. Default: {L.DEFAULT_MCP_LIST_LIMIT}, max: {L.MCP_LIST_LIMIT.max}"),
]
ListOffset = Annotated[int, _int(L.MCP_LIST_OFFSET, "Pagination offset. Default: 0")]
RecallQuery = Annotated[str, _text(L.QUERY, "What the agent is about to answer or do")]
MaxItems = Annotated[int, _int(L.MAX_ITEMS, f"Most memories in the context. Default: {L.DEFAULT_MAX_ITEMS}")]
MaxTokens = Annotated[int, _int(L.MAX_TOKENS, f"Token budget of the context. Default: {L.DEFAULT_MAX_TOKENS}")]
# A Literal, so the schema lists the choices; tests/test_limits.py checks they are L.THRESHOLDS.
Threshold = Annotated[
    Literal["strict", "balanced", "permissive"],
    Field(description=f"How relevant a memory must be to be included. Default: {L.DEFAULT_THRESHOLD}"),
]

StoreKey = Annotated[
    str | None, _text(L.KEY, "Optional key: a keyed fact (e.g. 'timezone'), upserted by namespace and key")
]
Importance = Annotated[
    float | None,
    Field(ge=L.IMPORTANCE_MIN, le=L.IMPORTANCE_MAX, description="0-1; ranks it higher when budgets are tight"),
]
CreatedAt = Annotated[
    str | None, Field(description="When it happened, ISO 8601 (UTC unless it has an offset). Default: now")
]

ExpiresAt = Annotated[
    str | None, Field(description="Forget it on its own at this ISO 8601 time (not with ttl_seconds). Default: never")
]
TtlSeconds = Annotated[
    int | None,
    Field(ge=L.TTL_SECONDS.min, le=L.TTL_SECONDS.max, description="Forget it on its own after this many seconds"),
]
AsOf = Annotated[
    str | None,
    Field(description="Answer with what was valid at this ISO 8601 time (superseded values included). Default: now"),
]

# ---- the tools -----------------------------------------------------------------------------------


def memory_store(
    ctx: ToolContext,
    content: Content,
    namespace: Namespace = DEFAULT_NAMESPACE,
    metadata: Metadata = None,
    key: StoreKey = None,
    importance: Importance = None,
    created_at: CreatedAt = None,
    expires_at: ExpiresAt = None,
    ttl_seconds: TtlSeconds = None,
) -> Annotated[CallToolResult, StoreOut]:
    """Store a new memory, verbatim. With a key it is a keyed fact: storing the key again replaces
    its value (the old one stays in history). Embeddings are generated locally — content never
    leaves the machine. Storing unkeyed text that is already remembered in the namespace stores
    nothing and answers status "duplicate" with the existing memory's id. A ttl or expiry makes
    the memory disappear on its own (a reminder, a session note)."""
    from ..engine.jsonl import parse_time

    engine = engine_for(ctx, "memory_store", WRITE_SCOPE)
    when = parse_time(created_at, "created_at")
    added = engine.add(
        namespace,
        content,
        key=key,
        importance=importance,
        metadata=metadata,
        extract=False,
        created_at=when,
        expires_at=parse_time(expires_at, "expires_at"),
        ttl=ttl_seconds,
    )
    if added.memories:
        return obj({"memory_id": added.memories[0].id, "status": "stored"})
    return obj({"memory_id": _existing_duplicate(added), "status": "duplicate"})


def memory_search(
    ctx: ToolContext,
    query: SearchQuery,
    namespace: SearchNamespace = None,
    top_k: TopK = L.DEFAULT_TOP_K,
    min_score: MinScore = 0.0,
    as_of: AsOf = None,
) -> Annotated[CallToolResult, SearchOut]:
    """Search memories using hybrid semantic + keyword retrieval (with cross-encoder reranking when
    one is configured). Returns the most relevant results, best first, with scores in [0, 1].
    With as_of, searches what was true at that time instead of now."""
    from ..engine.jsonl import parse_time

    engine = engine_for(ctx, "memory_search", READ_SCOPE)
    at = parse_time(as_of, "as_of")
    hits = engine.search(query, scope=namespace, top_k=top_k, min_score=min_score, as_of=at)
    items = []
    for hit in hits:
        mem = memory_out(hit.memory)
        items.append(
            {
                "memory_id": mem["memory_id"],
                "content": mem["content"],
                "score": round(float(hit.score), 4),
                "namespace": mem["namespace"],
                "metadata": mem["metadata"],
                "created_at": mem["created_at"],
            }
        )
    return array("results", items)


def memory_get(ctx: ToolContext, memory_id: MemoryId) -> Annotated[CallToolResult, MemoryOut]:
    """Retrieve a specific memory by ID: content, namespace, metadata and timestamps."""
    return obj(memory_out(engine_for(ctx, "memory_get", READ_SCOPE).get(memory_id)))


def memory_update(
    ctx: ToolContext,
    memory_id: Annotated[str, _text(L.MEMORY_ID, "The ID of the memory to update")],
    content: Annotated[str | None, _text(L.VALUE, "New content (re-embeds automatically)")] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="Metadata to merge (partial update)")] = None,
) -> Annotated[CallToolResult, MemoryOut]:
    """Update an existing memory's content or metadata (metadata is merged). The previous content
    stays in the memory's history."""
    engine = engine_for(ctx, "memory_update", WRITE_SCOPE)
    if content is None and metadata is None:
        raise InvalidRequest("nothing to update: give content, metadata or both")
    return obj(memory_out(engine.update(memory_id, value=content, metadata=metadata)))


def memory_delete(
    ctx: ToolContext, memory_id: Annotated[str, _text(L.MEMORY_ID, "The ID of the memory to delete")]
) -> Annotated[CallToolResult, DeleteOut]:
    """Permanently delete a memory: its text, vectors and history are removed."""
    if not engine_for(ctx, "memory_delete", WRITE_SCOPE).delete(memory_id):
        raise NotFound(f"memory {memory_id} does not exist")
    return obj({"memory_id": memory_id, "status": "deleted"})


def memory_list_namespaces(ctx: ToolContext) -> Annotated[CallToolResult, NamespacesOut]:
    """List all namespaces with memory counts and when each last changed."""
    engine = engine_for(ctx, "memory_list_namespaces", READ_SCOPE)
    items = [
        {"namespace": ns.scope, "count": ns.count, "last_updated": iso_ms(ns.last_updated)}
        for ns in engine.namespaces()
    ]
    return array("namespaces", items)


def memory_list(
    ctx: ToolContext,
    namespace: ListNamespace = DEFAULT_NAMESPACE,
    limit: ListLimit = L.DEFAULT_MCP_LIST_LIMIT,
    offset: ListOffset = 0,
) -> Annotated[CallToolResult, ListOut]:
    """List memories in a namespace, most recently updated first."""
    engine = engine_for(ctx, "memory_list", READ_SCOPE)
    return array("memories", [memory_out(m) for m in _page(engine, namespace, limit, offset)])


def memory_recall(
    ctx: ToolContext,
    query: RecallQuery,
    namespace: Namespace = DEFAULT_NAMESPACE,
    max_items: MaxItems = L.DEFAULT_MAX_ITEMS,
    max_tokens: MaxTokens = L.DEFAULT_MAX_TOKENS,
    threshold: Threshold = "balanced",
    as_of: AsOf = None,
) -> Annotated[CallToolResult, RecallOut]:
    """Prompt-ready context: the few memories of a namespace that matter for this query, rendered
    as text to put in front of the next model call (keyed facts as `key: value`). With as_of, what
    was true at that time ("where did the user live in March 2025?")."""
    from ..engine.jsonl import parse_time

    engine = engine_for(ctx, "memory_recall", READ_SCOPE)
    res = engine.recall(
        namespace,
        query,
        max_items=max_items,
        max_tokens=max_tokens,
        threshold=threshold,
        as_of=parse_time(as_of, "as_of"),
    )
    return obj(
        {
            "context": res.context,
            "memories": [memory_out(m) for m in res.memories],
            "ranking": ranking_out(res.ranking),
        }
    )


# ---- code memory and formal reasoning (docs/reasoning.md) -----------------------------------
SourceFiles = Annotated[
    list[dict[str, str]],
    Field(
        min_length=L.CODE_FILES.min,
        max_length=L.CODE_FILES.max,
        description='Files to index: [{"path": "src/app.py", "text": "..."}], paths relative to the repository root',
    ),
]
TimeoutMs = Annotated[int, _int(L.PROOF_MS, "Solver time limit in milliseconds")]


def code_ingest(
    ctx: ToolContext, files: SourceFiles, namespace: Namespace = "code", prune: bool = False
) -> Annotated[CallToolResult, IngestOut]:
    """Index source files into a namespace: each file and its functions, classes and methods.
    Unchanged files (same content hash) cost nothing; with prune, files not sent are forgotten."""
    engine = engine_for(ctx, "code_ingest", WRITE_SCOPE, operation="code.ingest")
    return obj(engine.code_ingest(namespace, files=files, prune=prune).to_dict())  # type: ignore[arg-type]


def code_locate(
    ctx: ToolContext,
    query: Annotated[str, _text(L.QUERY, 'A question such as "where are refunds handled?"')],
    namespace: Namespace = "code",
    top_k: TopK = L.DEFAULT_TOP_K,
) -> Annotated[CallToolResult, LocateOut]:
    """Where something lives in an ingested codebase: path:line-range, the symbol and a snippet, best first."""
    engine = engine_for(ctx, "code_locate", READ_SCOPE, operation="code.locate")
    return array("locations", [loc.to_dict() for loc in engine.code_locate(namespace, query, top_k=top_k)])


def domain_set(
    ctx: ToolContext,
    domain: Annotated[dict[str, Any], Field(description="Entities with typed attributes, rules and bindings")],
    namespace: Namespace = DEFAULT_NAMESPACE,
) -> Annotated[CallToolResult, DomainOut]:
    """Declare a namespace's typed vocabulary and rules (entities, attributes, constraints) for prove and audit."""
    return obj(
        {
            "domain": engine_for(ctx, "domain_set", WRITE_SCOPE, operation="domain")
            .set_domain(namespace, domain)
            .to_dict()
        }
    )


def prove(
    ctx: ToolContext,
    statement: Annotated[dict[str, Any], Field(description='{"entity", "instance"?, "assert": "replicas >= 2"}')],
    namespace: Namespace = DEFAULT_NAMESPACE,
    timeout_ms: TimeoutMs = L.DEFAULT_PROOF_MS,
) -> Annotated[CallToolResult, ProofOut]:
    """Check a statement against the rules and stored facts with Z3: proved (with the facts and rules used),
    refuted (with a counterexample) or unknown within the time limit."""
    engine = engine_for(ctx, "prove", READ_SCOPE, operation="prove")
    return obj(engine.prove(namespace, statement, timeout_ms=timeout_ms).to_dict())


def audit(
    ctx: ToolContext, namespace: Namespace = DEFAULT_NAMESPACE, timeout_ms: TimeoutMs = L.DEFAULT_PROOF_MS
) -> Annotated[CallToolResult, AuditOut]:
    """Find stored facts and rules that cannot all hold: each conflict names its memories and rules."""
    return obj(
        engine_for(ctx, "audit", READ_SCOPE, operation="audit").audit(namespace, timeout_ms=timeout_ms).to_dict()
    )


AnswerQuestion = Annotated[str, _text(L.QUERY, "The question to answer from memory")]
Evidence = Annotated[int, _int(L.MAX_ITEMS, "Most memories the answer may rest on. Default: 8")]


def memory_answer(
    ctx: ToolContext,
    question: AnswerQuestion,
    namespace: Namespace = DEFAULT_NAMESPACE,
    max_items: Evidence = 8,
    threshold: Threshold = "balanced",
) -> Annotated[CallToolResult, AnswerOut]:
    """recall(answer): answer a question from a namespace's memories, citing the memory ids it rests
    on; `found` is false (answer null) when memory does not hold the answer. Over HTTP each call
    counts against the API key's monthly answer budget."""
    engine = engine_for(ctx, "memory_answer", READ_SCOPE, operation="answer")
    res = engine.answer(namespace, question, max_items=max_items, threshold=threshold)
    evidence = [{**memory_out(h.memory), "score": round(h.score, 4)} for h in res.evidence]
    return obj(
        {
            "answer": res.answer,
            "found": res.found,
            "citations": res.citations,
            "method": res.method,
            "context": res.context,
            "evidence": evidence,
        }
    )


DocumentName = Annotated[str, _text(L.DOCUMENT_NAME, "The document's name; its chunks are keyed '<name>#<i>'")]
DocumentText = Annotated[str, Field(min_length=1, description="The document, Markdown or plain text")]


def memory_remember_document(
    ctx: ToolContext,
    document: DocumentName,
    text: DocumentText,
    namespace: Namespace = DEFAULT_NAMESPACE,
    importance: Importance = None,
) -> Annotated[CallToolResult, DocumentOut]:
    """remember(chunk): store a long document as chunks split on its headings, paragraphs and
    sentences, with overlap; remembering the same document again replaces its chunks. Over HTTP it
    needs a plan with the advanced operations."""
    engine = engine_for(ctx, "memory_remember_document", WRITE_SCOPE, operation="chunk")
    res = engine.remember_document(namespace, document, text, importance=importance)
    return obj({"document": res.document, "chunks": [memory_out(m) for m in res.chunks], "removed": res.removed})


ConsolidateMode = Annotated[
    Literal["merge", "compose"],
    Field(description="merge: near duplicates and decay (default); compose: co-recalled memories into one"),
]
DryRun = Annotated[bool, Field(description="Return the plan and write nothing")]
Offline = Annotated[bool, Field(description="Keep each cluster's most informative member, no model")]


def memory_consolidate(
    ctx: ToolContext,
    namespace: Namespace = DEFAULT_NAMESPACE,
    mode: ConsolidateMode = "merge",
    dry_run: DryRun = False,
    offline: Offline = False,
) -> Annotated[CallToolResult, ConsolidateOut]:
    """consolidate: merge near-duplicate memories and let stale low-importance ones decay; with mode
    "compose", compile memories often recalled together into one composite that recall returns as a
    unit. Nothing is lost (superseded and decayed memories stay in history); dry_run shows the plan.
    Over HTTP, compose needs a plan with the advanced operations."""
    engine = engine_for(ctx, "memory_consolidate", WRITE_SCOPE, operation="compose" if mode == "compose" else None)
    return obj(engine.consolidate(namespace, mode=mode, dry_run=dry_run, offline=offline).to_dict())


class BatchItemIn(BaseModel):
    """One memory of ``memory_remember_batch``."""

    content: Content
    key: StoreKey = None
    importance: Importance = None
    created_at: CreatedAt = None


BatchItems = Annotated[
    list[BatchItemIn],
    Field(min_length=L.BATCH_ITEMS.min, max_length=L.BATCH_ITEMS.max, description="The memories, 1-1,000"),
]


def memory_remember_batch(
    ctx: ToolContext,
    items: BatchItems,
    namespace: Namespace = DEFAULT_NAMESPACE,
    dedup: bool = True,
    partial: bool = False,
) -> Annotated[CallToolResult, BatchOut]:
    """remember(batch): store 1-1,000 memories verbatim in one transaction and say what became of
    each, in order: stored, updated (a key's new value), superseded (it replaced older memories),
    duplicate (the memory already there is kept: its id) or unchanged. A bad item refuses the
    whole batch; nothing is written. With partial, a bad item is refused alone (status refused, its
    code and message) and the others are written."""
    engine = engine_for(ctx, "memory_remember_batch", WRITE_SCOPE)
    res = engine.add_batch(namespace, batch.memories(items, partial), dedup=dedup, partial=partial)
    return obj({"results": batch.rows(res)})


Statement = Annotated[str, _text(L.STATEMENT, "The statement to check against memory")]
Candidates = Annotated[int, _int(L.MAX_ITEMS, "Most memories to check it against. Default: 8")]


def memory_verify(
    ctx: ToolContext, statement: Statement, namespace: Namespace = DEFAULT_NAMESPACE, max_items: Candidates = 8
) -> Annotated[CallToolResult, VerifyOut]:
    """verify: check a statement against a namespace's memories. The verdict is supported,
    contradicted or not_enough_information, with the memories it rests on and the reason (a keyed
    fact, a slot, a number, a date, a negation, or the memory stating it). Over HTTP it needs a
    plan with the advanced operations."""
    engine = engine_for(ctx, "memory_verify", READ_SCOPE, operation="verify")
    res = engine.verify(namespace, statement, max_items=max_items)
    evidence = [{"memory": memory_out(e.memory), "check": e.check, "reason": e.reason} for e in res.evidence]
    return obj({"statement": res.statement, "verdict": res.verdict, "method": res.method, "evidence": evidence})


def memory_weave(ctx: ToolContext, namespace: Namespace = DEFAULT_NAMESPACE) -> Annotated[CallToolResult, WeaveOut]:
    """weave: rebuild the links between a namespace's memories (shared names, the same conversation or
    document, supersession, co-recall), which memory_explore and memory_ripple follow. Over HTTP it
    needs a plan with the advanced operations."""
    return obj(engine_for(ctx, "memory_weave", WRITE_SCOPE, operation="weave").weave(namespace).to_dict())


ExploreItems = Annotated[int, _int(L.MAX_ITEMS, "Most memories to return. Default: 10")]
ExploreSeeds = Annotated[int | None, Field(ge=1, le=L.MAX_ITEMS.max, description="Recall hits to start from")]
Hops = Annotated[int, _int(L.EXPLORE_HOPS, "Links followed from a recall hit. Default: 2")]
Nodes = Annotated[int, _int(L.EXPLORE_NODES, "Memories activation may reach. Default: 50")]
Decay = Annotated[float, Field(ge=0, le=1, description="Share of activation a link passes on. Default: 0.5")]


def memory_explore(
    ctx: ToolContext,
    query: SearchQuery,
    namespace: Namespace = DEFAULT_NAMESPACE,
    max_items: ExploreItems = L.DEFAULT_MAX_ITEMS,
    seeds: ExploreSeeds = None,
    max_hops: Hops = L.DEFAULT_EXPLORE_HOPS,
    max_nodes: Nodes = L.DEFAULT_EXPLORE_NODES,
    decay: Decay = L.DEFAULT_EXPLORE_DECAY,
) -> Annotated[CallToolResult, ExploreOut]:
    """recall(explore): recall's hits for a query, then the memories linked to them (spreading
    activation over memory_weave's links), each with the path that reached it. Over HTTP each call
    counts against the API key's monthly explore budget."""
    engine = engine_for(ctx, "memory_explore", READ_SCOPE, operation="explore")
    found = engine.explore(
        namespace, query, max_items=max_items, seeds=seeds, max_hops=max_hops, max_nodes=max_nodes, decay=decay
    )
    return obj(found.to_dict(memory_out))


Apply = Annotated[bool, Field(description="Flag each dependant with metadata needs_review")]


def memory_ripple(ctx: ToolContext, memory_id: MemoryId, apply: Apply = False) -> Annotated[CallToolResult, RippleOut]:
    """ripple: the memories derived from one (consolidation's summaries and composites, and theirs in
    turn) and those only linked to it; apply flags the derived ones for review. Over HTTP it needs a
    plan with the advanced operations."""
    engine = engine_for(ctx, "memory_ripple", WRITE_SCOPE if apply else READ_SCOPE, operation="ripple")
    return obj(engine.ripple(memory_id, apply=apply).to_dict(memory_out))


# ---- registration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A tool function with what MCP publishes beside its schema: a title and behaviour hints."""

    fn: Callable[..., CallToolResult]
    title: str
    annotations: ToolAnnotations


def _hints(*, read_only: bool, destructive: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=idempotent, open_world_hint=False
    )


_READ = _hints(read_only=True, destructive=False, idempotent=True)
_CHANGE = _hints(read_only=False, destructive=True, idempotent=True)

#: The seed's seven tools (seed 001), then ``memory_recall``, then code memory and formal reasoning.
#: The seed's seven tools (seed 001), then ``memory_recall`` and the operations (docs/operations.md).
TOOLS = (
    Tool(memory_store, "Store a memory", _hints(read_only=False, destructive=False, idempotent=False)),
    Tool(memory_search, "Search memories", _READ),
    Tool(memory_get, "Get a memory", _READ),
    Tool(memory_update, "Update a memory", _CHANGE),
    Tool(memory_delete, "Delete a memory", _CHANGE),
    Tool(memory_list_namespaces, "List namespaces", _READ),
    Tool(memory_list, "List memories", _READ),
    Tool(memory_recall, "Recall context", _READ),
    Tool(code_ingest, "Index source files", _hints(read_only=False, destructive=True, idempotent=True)),
    Tool(code_locate, "Locate code", _READ),
    Tool(domain_set, "Declare a domain", _CHANGE),
    Tool(prove, "Prove a statement", _READ),
    Tool(audit, "Audit facts and rules", _READ),
    Tool(memory_answer, "Answer from memory", _READ),
    Tool(memory_remember_document, "Remember a document", _CHANGE),
    Tool(memory_consolidate, "Consolidate memories", _hints(read_only=False, destructive=True, idempotent=False)),
    Tool(memory_remember_batch, "Remember many memories", _CHANGE),
    Tool(memory_verify, "Verify a statement", _READ),
    Tool(memory_weave, "Weave links", _hints(read_only=False, destructive=False, idempotent=True)),
    Tool(memory_explore, "Explore linked memories", _READ),
    Tool(memory_ripple, "Ripple a change", _hints(read_only=False, destructive=False, idempotent=True)),
)
TOOL_NAMES = tuple(tool.fn.__name__ for tool in TOOLS)


def _page(engine: Engine, namespace: str, limit: int, offset: int) -> list[MemoryRecord]:
    """``limit`` memories after skipping ``offset``, walking the engine's exact cursor pages."""
    found: list[MemoryRecord] = []
    seen, need, cursor = 0, offset + limit, None
    while True:
        page = engine.list(
            scope=namespace,
            order_by="updated_at",
            order_dir="desc",
            limit=min(_PAGE, need - seen),
            cursor=cursor,
        )
        for row in page.memories:
            if seen >= offset:
                found.append(row)
            seen += 1
        if seen >= need or page.next_cursor is None or not page.memories:
            return found
        cursor = page.next_cursor


def _existing_duplicate(added: AddResult) -> str:
    """The id of the memory that made dedup skip ``content``."""
    if not added.duplicates or not added.duplicates[0]:
        raise NotFound("the memory this duplicates could not be found")
    return added.duplicates[0]
