"""MemoryLayer: memory for AI agents — a local engine, a WithMemory-compatible server, an SDK and MCP tools."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from .client import AsyncClient, Client, memory
    from .config import Settings
    from .engine import Engine
    from .errors import MemoryLayerError

__all__ = ["AsyncClient", "Client", "Engine", "MemoryLayerError", "Settings", "memory"]

# Loaded on first use: the SDK brings httpx and pydantic, the engine numpy and onnxruntime, and the
# CLI (whose every run imports this package) needs neither of them for most commands.
_EXPORTS = {
    "AsyncClient": ".client",
    "Client": ".client",
    "memory": ".client",
    "Settings": ".config",
    "Engine": ".engine",
    "MemoryLayerError": ".errors",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
