"""The embedded default backend."""

from .db import Database, Migration
from .store import SqliteStore

__all__ = ["Database", "Migration", "SqliteStore"]
