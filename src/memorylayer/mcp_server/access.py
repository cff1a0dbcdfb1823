"""How a tool call finds its engine: the ``Access`` a server is built with.

Over stdio it is the one local engine; over HTTP it is the engine of the account (or container)
that owns the API key, after the key's scope and daily limit are checked (``server/mcp.py``).
The server's lifespan hands the ``Access`` to every call as ``ctx.request_context.lifespan_context``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mcp.server.mcpserver import Context

if TYPE_CHECKING:
    from ..engine import Engine

READ_SCOPE = "memory:read"
WRITE_SCOPE = "memory:write"


@dataclass(frozen=True)
class ToolSpec:
    """What a tool needs from its caller: its name, the API-key scope it requires, and the metered
    operation it is (docs/operations.md), whose monthly budget an HTTP caller's key draws from."""

    name: str
    scope: str
    operation: str | None = None


class Access(Protocol):
    """Decides, per call, which engine a tool uses.

    ``engine`` raises a ``MemoryLayerError`` to refuse the call (missing scope, daily limit); its
    code and message become the tool error.
    """

    def engine(self, ctx: Context[Any, Any], tool: ToolSpec) -> Engine: ...


class LocalAccess:
    """Every call uses one engine, with no checks: the stdio server of a single local user."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def engine(self, ctx: Context[Any, Any], tool: ToolSpec) -> Engine:
        return self._engine


#: What a tool receives: the request's context, whose lifespan state is the server's ``Access``.
ToolContext = Context[Access, Any]


def engine_for(ctx: ToolContext, tool: str, scope: str, operation: str | None = None) -> Engine:
    """The engine this call runs on, as the server's ``Access`` decides.

    Raises:
        MemoryLayerError: the ``Access`` refuses the call (e.g. ``InsufficientScope``, ``RateLimited``).
    """
    access: Access = ctx.request_context.lifespan_context
    return access.engine(ctx, ToolSpec(tool, scope, operation))
