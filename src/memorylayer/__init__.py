"""MemoryLayer: memory for AI agents — a local engine, a WithMemory-compatible server, an SDK and MCP tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import AsyncClient, Client, memory
from .config import Settings
from .errors import MemoryLayerError

if TYPE_CHECKING:
    from .engine import Engine

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "Engine", "MemoryLayerError", "Settings", "memory"]


def __getattr__(name: str) -> Any:
    # The engine brings numpy and onnxruntime: loaded on first use, so the SDK imports without them.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
