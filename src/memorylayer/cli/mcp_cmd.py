"""``memorylayer mcp``: serve the memory tools to a desktop agent over stdio."""

from __future__ import annotations

from ..errors import MemoryLayerError
from .options import Database, Home, load_settings
from .render import fail
from .root import app, needs_extra


@app.command("mcp")
def mcp_command(home: Home = None, database: Database = None) -> None:
    """Serve the MCP memory tools over stdio (for Claude Desktop, Claude Code, Cursor...).

    Stdout carries the protocol only; logs go to stderr. Several editors may each run one on the same
    home while the CLI writes to it too.
    """
    try:
        from ..mcp_server.stdio import serve_stdio
    except ModuleNotFoundError as exc:
        needs_extra("mcp", exc)

    try:
        serve_stdio(load_settings(home, database))
    except MemoryLayerError as exc:
        fail(exc, as_json=False)
