"""MemoryLayer: memory for AI agents — a local engine, a WithMemory-compatible server, an SDK and MCP tools."""

from .client import AsyncClient, Client, memory
from .config import Settings
from .engine import Engine
from .errors import MemoryLayerError

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "Engine", "MemoryLayerError", "Settings", "memory"]
