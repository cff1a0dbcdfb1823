"""Python SDK for the /v1 memory API (MemoryLayer server, or any WithMemory-compatible one).

``Client`` blocks, ``AsyncClient`` is its coroutine twin; both return the typed models of
``memorylayer.client.models`` and raise the classes of ``memorylayer.errors``. ``memory`` is a
ready-made module-level ``Client`` configured from the environment.
"""

from __future__ import annotations

from . import models
from ._async import AsyncCache, AsyncCaches, AsyncClient, AsyncContainers
from ._base import DEFAULT_BASE_URL, RequestOptions
from ._checks import BatchItem
from ._default import DefaultClient, memory
from ._sync import Cache, Caches, Client, Containers

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncCache",
    "AsyncCaches",
    "AsyncClient",
    "AsyncContainers",
    "BatchItem",
    "Cache",
    "Caches",
    "Client",
    "Containers",
    "DefaultClient",
    "RequestOptions",
    "memory",
    "models",
]
