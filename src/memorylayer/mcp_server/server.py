"""The MCP server object: the tools of ``tools.py`` registered on the SDK's ``MCPServer``.

The ``Access`` a server is built with is its lifespan state, so every tool call reaches it as
``ctx.request_context.lifespan_context``, over stdio, HTTP or the SDK's in-memory client alike.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from ..errors import InvalidRequest, MemoryLayerError, NotFound
from .access import Access
from .framing import AnswerMalformed
from .tools import TOOLS

INSTRUCTIONS = (
    "Long-term memory for this user. Before answering, call memory_recall (prompt-ready context) or "
    "memory_search with the user's request; call memory_store to keep durable facts and preferences "
    "(one fact per call). Namespaces group memories, e.g. 'work' or 'personal'; the default is 'default'."
)


class MemoryMCPServer(MCPServer[Access]):
    """``MCPServer`` whose tool errors all read ``[code] message``, argument errors included, and whose
    stdio transport answers every malformed message (:mod:`.framing`)."""

    async def run_stdio_async(self) -> None:
        """The SDK's stdio serving, with a JSON-RPC error for each line it cannot parse."""
        async with stdio_server() as (read_stream, write_stream):
            await self._lowlevel_server.run(
                AnswerMalformed(read_stream, write_stream),
                write_stream,
                self._lowlevel_server.create_initialization_options(),
            )

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Access, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(f"[{InvalidRequest.code}] {name}: {_describe(cause)}") from cause
            # The SDK wraps what a tool raises; ours is a refusal with a code, not a crash.
            if isinstance(cause, MemoryLayerError):
                raise ToolError(f"[{cause.code}] {cause.message}") from cause
            if cause is None and str(exc).startswith("Unknown tool"):
                raise ToolError(f"[{NotFound.code}] {exc}") from exc
            raise


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
) -> MCPServer[Access]:
    """The MemoryLayer MCP server with every tool registered; ``access`` picks each call's engine."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Access]) -> AsyncIterator[Access]:
        yield access

    server = MemoryMCPServer(
        name,
        title="MemoryLayer",
        version=_version(),
        instructions=INSTRUCTIONS,
        log_level=log_level,
        lifespan=lifespan,
    )
    for tool in TOOLS:
        description = inspect.cleandoc(tool.fn.__doc__ or "")
        server.add_tool(tool.fn, title=tool.title, description=description, annotations=tool.annotations)
    return server


def _version() -> str:
    from .._version import __version__

    return __version__
