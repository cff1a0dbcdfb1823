"""The MemoryLayer MCP tools, over stdio (one local engine) or streamable HTTP (the server).

Named ``mcp_server`` so it never shadows the ``mcp`` SDK package.
"""

from __future__ import annotations

from .tools import TOOL_NAMES, Access, LocalAccess, ToolSpec, build_server

__all__ = ["TOOL_NAMES", "Access", "LocalAccess", "ToolSpec", "build_server"]
