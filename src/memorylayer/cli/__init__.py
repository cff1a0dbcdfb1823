"""The ``memorylayer`` command line. Each module registers its commands on ``app``."""

from __future__ import annotations

from .app import app, main

# Command modules register themselves on import; keep this list sorted.
from . import admin  # noqa: E402,F401  isort: skip
from . import bulk  # noqa: E402,F401  isort: skip
from . import doctor  # noqa: E402,F401  isort: skip
from . import mcp_cmd  # noqa: E402,F401  isort: skip
from . import memory  # noqa: E402,F401  isort: skip
from . import serve  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]
