"""The MCP tools: thin edges that validate arguments, call the engine and shape the result.

The same tool code serves every transport. What differs is how a call finds its engine, which an
``Access`` decides: over stdio it is the one local engine; over HTTP it is the engine of the
account (or container) that owns the API key, after the key's scope and daily limit are checked.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from ..errors import InvalidRequest, MemoryLayerError, NotFound
from ..types import iso_ms

if TYPE_CHECKING:
    from ..engine import Engine
    from ..types import AddResult, MemoryRecord

DEFAULT_NAMESPACE = "default"
MAX_TOP_K = 20
MAX_LIST_LIMIT = 100
#: The engine's cursor pages are walked to reach an offset; this bounds the walk.
MAX_LIST_OFFSET = 100_000
_PAGE = 100

READ_SCOPE = "memory:read"
WRITE_SCOPE = "memory:write"

INSTRUCTIONS = (
    "Long-term memory for this user. Before answering, call memory_recall (prompt-ready context) or "
    "memory_search with the user's request; call memory_store to keep durable facts and preferences "
    "(one fact per call). Namespaces group memories, e.g. 'work' or 'personal'; the default is 'default'."
)


@dataclass(frozen=True)
class ToolSpec:
    """What a tool needs from its caller: the API-key scope, and whether it changes memories."""

    name: str
    scope: str


class Access(Protocol):
    """Decides, per call, which engine a tool uses.

    ``engine`` raises a ``MemoryLayerError`` to refuse the call (missing scope, daily limit); its
    code and message become the tool error.
    """

    def engine(self, ctx: Context, tool: ToolSpec) -> Engine: ...


class LocalAccess:
    """Every call uses one engine, with no checks: the stdio server of a single local user."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def engine(self, ctx: Context, tool: ToolSpec) -> Engine:
        return self._engine


# ---- result shapes (the seed's field names) ------------------------------------------------------


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


class RecallOut(BaseModel):
    context: str
    memories: list[MemoryOut]
    ranking: RankingOut


def memory_out(record: MemoryRecord) -> dict[str, Any]:
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
    }


def _result(text_value: Any, structured: dict[str, Any]) -> CallToolResult:
    """One JSON text block (what the model reads: the seed's shape, arrays included) plus
    ``structuredContent`` (always an object, as MCP requires: arrays go under one named field)."""
    text = json.dumps(text_value, ensure_ascii=False, indent=2)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _obj(value: dict[str, Any]) -> CallToolResult:
    return _result(value, value)


def _array(field: str, items: list[dict[str, Any]]) -> CallToolResult:
    return _result(items, {field: items})


# ---- argument types ------------------------------------------------------------------------------

Content = Annotated[str, Field(min_length=1, max_length=16384, description="The text to remember")]
Namespace = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="Logical bucket for grouping memories (e.g. 'work', 'personal'). Defaults to 'default'",
    ),
]
MemoryId = Annotated[str, Field(min_length=1, max_length=200, description="The ID returned by memory_store")]
Metadata = Annotated[
    dict[str, Any] | None, Field(description="Arbitrary key-value pairs attached to the memory")
]


# ---- the server ----------------------------------------------------------------------------------

_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


class MemoryMCPServer(MCPServer):
    """``MCPServer`` whose tool errors all read ``[code] message``, argument errors included."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(f"[{InvalidRequest.code}] {name}: {_describe(cause)}") from cause
            if isinstance(cause, _CodedToolError):
                raise ToolError(str(cause)) from cause
            if cause is None and str(exc).startswith("Unknown tool"):
                raise ToolError(f"[{NotFound.code}] {exc}") from exc
            raise


class _CodedToolError(ToolError):
    """A ``MemoryLayerError`` on its way to the client as tool error text."""

    def __init__(self, error: MemoryLayerError) -> None:
        super().__init__(f"[{error.code}] {error.message}")
        self.error = error


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        given = item.get("input")
        shown = "" if item["type"] == "missing" or isinstance(given, dict) else f" (got {given!r:.60})"
        parts.append(f"{where}: {item['msg']}{shown}")
    return "; ".join(parts)


def build_server(
    access: Access,
    *,
    name: str = "memorylayer",
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING",
) -> MCPServer:
    """The MemoryLayer MCP server with every tool registered; ``access`` picks each call's engine."""
    server = MemoryMCPServer(
        name, title="MemoryLayer", version=_version(), instructions=INSTRUCTIONS, log_level=log_level
    )

    def tool(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            server.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""), **options)
            return fn

        return register

    def run(ctx: Context, tool: str, scope: str, body: Callable[[Engine], CallToolResult]) -> CallToolResult:
        try:
            return body(access.engine(ctx, ToolSpec(tool, scope)))
        except MemoryLayerError as exc:
            raise _CodedToolError(exc) from exc

    @tool(
        title="Store a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
    )
    def memory_store(
        ctx: Context,
        content: Content,
        namespace: Namespace = DEFAULT_NAMESPACE,
        metadata: Metadata = None,
    ) -> Annotated[CallToolResult, StoreOut]:
        """Store a new memory, verbatim. Embeddings are generated locally — content never leaves the
        machine. Storing text that is already remembered in the namespace stores nothing and answers
        status "duplicate" with the existing memory's id."""

        def body(eng: Engine) -> CallToolResult:
            added = eng.add(namespace, content, metadata=metadata, extract=False)
            if added.memories:
                return _obj({"memory_id": added.memories[0].id, "status": "stored"})
            existing = _existing_duplicate(added)
            return _obj({"memory_id": existing, "status": "duplicate"})

        return run(ctx, "memory_store", WRITE_SCOPE, body)

    @tool(title="Search memories", annotations=_READ)
    def memory_search(
        ctx: Context,
        query: Annotated[
            str, Field(min_length=1, max_length=16384, description="Natural language search query")
        ],
        namespace: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=255,
                description="Restrict search to this namespace. Searches all namespaces if omitted",
            ),
        ] = None,
        top_k: Annotated[
            int, Field(ge=1, le=MAX_TOP_K, description="Number of results to return. Default: 5, max: 20")
        ] = 5,
        min_score: Annotated[
            float, Field(ge=0.0, le=1.0, description="Minimum relevance score 0–1. Default: 0.0")
        ] = 0.0,
    ) -> Annotated[CallToolResult, SearchOut]:
        """Search memories using hybrid semantic + keyword retrieval (with cross-encoder reranking when
        one is configured). Returns the most relevant results, best first, with scores in [0, 1]."""

        def body(eng: Engine) -> CallToolResult:
            hits = eng.search(query, scope=namespace, top_k=top_k, min_score=min_score)
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
            return _array("results", items)

        return run(ctx, "memory_search", READ_SCOPE, body)

    @tool(title="Get a memory", annotations=_READ)
    def memory_get(ctx: Context, memory_id: MemoryId) -> Annotated[CallToolResult, MemoryOut]:
        """Retrieve a specific memory by ID: content, namespace, metadata and timestamps."""
        return run(ctx, "memory_get", READ_SCOPE, lambda eng: _obj(memory_out(eng.get(memory_id))))

    @tool(
        title="Update a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    def memory_update(
        ctx: Context,
        memory_id: Annotated[
            str, Field(min_length=1, max_length=200, description="The ID of the memory to update")
        ],
        content: Annotated[
            str | None,
            Field(min_length=1, max_length=16384, description="New content (re-embeds automatically)"),
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Metadata to merge (partial update)")
        ] = None,
    ) -> Annotated[CallToolResult, MemoryOut]:
        """Update an existing memory's content or metadata (metadata is merged). The previous content
        stays in the memory's history."""

        def body(eng: Engine) -> CallToolResult:
            if content is None and metadata is None:
                raise InvalidRequest("nothing to update: give content, metadata or both")
            return _obj(memory_out(eng.update(memory_id, value=content, metadata=metadata)))

        return run(ctx, "memory_update", WRITE_SCOPE, body)

    @tool(
        title="Delete a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    def memory_delete(
        ctx: Context,
        memory_id: Annotated[
            str, Field(min_length=1, max_length=200, description="The ID of the memory to delete")
        ],
    ) -> Annotated[CallToolResult, DeleteOut]:
        """Permanently delete a memory: its text, vectors and history are removed."""

        def body(eng: Engine) -> CallToolResult:
            if not eng.delete(memory_id):
                raise NotFound(f"memory {memory_id} does not exist")
            return _obj({"memory_id": memory_id, "status": "deleted"})

        return run(ctx, "memory_delete", WRITE_SCOPE, body)

    @tool(title="List namespaces", annotations=_READ)
    def memory_list_namespaces(ctx: Context) -> Annotated[CallToolResult, NamespacesOut]:
        """List all namespaces with memory counts and when each last changed."""

        def body(eng: Engine) -> CallToolResult:
            items = [
                {"namespace": ns.scope, "count": ns.count, "last_updated": iso_ms(ns.last_updated)}
                for ns in eng.namespaces()
            ]
            return _array("namespaces", items)

        return run(ctx, "memory_list_namespaces", READ_SCOPE, body)

    @tool(title="List memories", annotations=_READ)
    def memory_list(
        ctx: Context,
        namespace: Annotated[
            str, Field(min_length=1, max_length=255, description="Namespace to list. Defaults to 'default'")
        ] = DEFAULT_NAMESPACE,
        limit: Annotated[
            int, Field(ge=1, le=MAX_LIST_LIMIT, description="Max results. Default: 20, max: 100")
        ] = 20,
        offset: Annotated[
            int, Field(ge=0, le=MAX_LIST_OFFSET, description="Pagination offset. Default: 0")
        ] = 0,
    ) -> Annotated[CallToolResult, ListOut]:
        """List memories in a namespace, most recently updated first."""

        def body(eng: Engine) -> CallToolResult:
            return _array("memories", [memory_out(m) for m in _page(eng, namespace, limit, offset)])

        return run(ctx, "memory_list", READ_SCOPE, body)

    @tool(title="Recall context", annotations=_READ)
    def memory_recall(
        ctx: Context,
        query: Annotated[
            str, Field(min_length=1, max_length=16384, description="What the agent is about to answer or do")
        ],
        namespace: Namespace = DEFAULT_NAMESPACE,
        max_items: Annotated[
            int, Field(ge=1, le=50, description="Most memories in the context. Default: 4")
        ] = 4,
        max_tokens: Annotated[
            int, Field(ge=1, le=8000, description="Token budget of the context. Default: 150")
        ] = 150,
        threshold: Annotated[
            Literal["strict", "balanced", "permissive"],
            Field(description="How relevant a memory must be to be included. Default: balanced"),
        ] = "balanced",
    ) -> Annotated[CallToolResult, RecallOut]:
        """Prompt-ready context: the few memories of a namespace that matter for this query, rendered
        as text to put in front of the next model call (keyed facts as `key: value`)."""

        def body(eng: Engine) -> CallToolResult:
            res = eng.recall(
                namespace, query, max_items=max_items, max_tokens=max_tokens, threshold=threshold
            )
            out = {
                "context": res.context,
                "memories": [memory_out(m) for m in res.memories],
                "ranking": {"strategy": res.ranking.strategy, "reason": res.ranking.reason},
            }
            return _obj(out)

        return run(ctx, "memory_recall", READ_SCOPE, body)

    return server


TOOL_NAMES = (
    "memory_store",
    "memory_search",
    "memory_get",
    "memory_update",
    "memory_delete",
    "memory_list_namespaces",
    "memory_list",
    "memory_recall",
)


def _page(eng: Engine, namespace: str, limit: int, offset: int) -> list[MemoryRecord]:
    """``limit`` memories after skipping ``offset``, walking the engine's exact cursor pages."""
    found: list[MemoryRecord] = []
    seen, need, cursor = 0, offset + limit, None
    while True:
        page = eng.list(
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("memorylayer")
    except PackageNotFoundError:
        return "0.0.0"
