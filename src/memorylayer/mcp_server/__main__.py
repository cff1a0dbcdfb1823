"""``python -m memorylayer.mcp_server``: the same stdio server as ``memorylayer mcp``."""

from __future__ import annotations

import sys

from ..config import Settings
from ..errors import MemoryLayerError
from .stdio import serve_stdio

if __name__ == "__main__":
    try:
        serve_stdio(Settings.load())
    except MemoryLayerError as error:  # stdout carries the protocol only
        sys.stderr.write(f"error [{error.code}] {error.message}\n")
        sys.exit(error.exit_code)
