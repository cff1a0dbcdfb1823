"""``python -m memorylayer.mcp_server``: the same stdio server as ``memorylayer mcp``."""

from __future__ import annotations

from ..config import Settings
from .stdio import serve_stdio

if __name__ == "__main__":
    serve_stdio(Settings.load())
