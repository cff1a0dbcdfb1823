"""``memorylayer mcp``: the tools over stdio on the local engine (the MemoryLayer home)."""

from __future__ import annotations

import anyio

from ..config import Settings
from . import LocalAccess, build_server


def serve_stdio(settings: Settings) -> None:
    """Serve the MCP tools on stdin/stdout until the client closes the pipe.

    Several of these (one per editor) and the CLI may share one home: every write is its own
    SQLite transaction, so concurrent writers wait for each other instead of losing data.
    """
    from ..engine import Engine

    engine = Engine.open(settings=settings)
    try:
        anyio.run(build_server(LocalAccess(engine)).run_stdio_async)
    finally:
        engine.close()
