"""``memorylayer mcp``: serve the memory tools to a desktop agent over stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings
from ..errors import MemoryLayerError
from .app import app, fail


@app.command("mcp")
def mcp_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="MemoryLayer home to serve (default: $MEMORYLAYER_HOME or the user data dir)."
        ),
    ] = None,
) -> None:
    """Serve the MCP memory tools over stdio (for Claude Desktop, Claude Code, Cursor...).

    Stdout carries the protocol only; logs go to stderr. Several editors may each run one on the same
    home while the CLI writes to it too.
    """
    from ..mcp_server.stdio import serve_stdio

    try:
        settings = Settings.load(home=home)
        serve_stdio(settings)
    except MemoryLayerError as exc:
        fail(exc, as_json=False)
