"""Persistence behind small protocols; the engine owns every rule, stores only keep data."""

from .base import Store, StoredVector

__all__ = ["Store", "StoredVector"]
