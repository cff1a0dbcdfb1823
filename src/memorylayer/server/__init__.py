"""The HTTP server: the WithMemory v1 wire protocol on the MemoryLayer engine."""

from .app import create_app
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
