"""The MemoryLayer MCP tools, over stdio (one local engine) or streamable HTTP (the server).

Named ``mcp_server`` so it never shadows the ``mcp`` SDK package.
"""

from __future__ import annotations

from .access import Access, LocalAccess, ToolSpec
from .server import build_server
from .tools import TOOL_NAMES

__all__ = ["TOOL_NAMES", "Access", "LocalAccess", "ToolSpec", "build_server"]
