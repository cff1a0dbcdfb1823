"""Client and AsyncClient expose the same surface: every sync method has a coroutine twin."""

from __future__ import annotations

import inspect

import pytest

from memorylayer.client import (
    AsyncCache,
    AsyncCaches,
    AsyncClient,
    AsyncContainers,
    Cache,
    Caches,
    Client,
    Containers,
)
from memorylayer.client._base import _BaseCache, _BaseClient

PAIRS = [(Client, AsyncClient), (Containers, AsyncContainers), (Caches, AsyncCaches), (Cache, AsyncCache)]
#: Resource management differs by design: ``close``/``with`` versus ``aclose``/``async with``.
RENAMED = {"close": "aclose"}


def _public(cls: type) -> dict[str, object]:
    return {name: getattr(cls, name) for name in dir(cls) if not name.startswith("_")}


def _io_methods(cls: type) -> dict[str, object]:
    shared = set(dir(_BaseClient)) | set(dir(_BaseCache))
    return {n: attr for n, attr in _public(cls).items() if callable(attr) and n not in shared}


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=lambda cls: cls.__name__)
def test_every_sync_method_has_an_async_twin_with_the_same_parameters(sync_cls: type, async_cls: type) -> None:
    sync_methods = _io_methods(sync_cls)
    async_methods = _io_methods(async_cls)

    assert {RENAMED.get(name, name) for name in sync_methods} == set(async_methods)
    for name, method in sync_methods.items():
        twin = async_methods[RENAMED.get(name, name)]
        assert not inspect.iscoroutinefunction(method), name
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        assert inspect.isgeneratorfunction(method) == inspect.isasyncgenfunction(twin), name
        sync_params = list(inspect.signature(method).parameters.values())
        async_params = list(inspect.signature(twin).parameters.values())
        assert [(p.name, p.kind, p.default, p.annotation) for p in sync_params] == [
            (p.name, p.kind, p.default, p.annotation) for p in async_params
        ], name


def test_constructors_take_the_same_options() -> None:
    sync_params = inspect.signature(Client).parameters
    async_params = inspect.signature(AsyncClient).parameters

    assert [(p.name, p.kind, p.default) for p in sync_params.values()] == [
        (p.name, p.kind, p.default) for p in async_params.values()
    ]


def test_both_clients_share_one_request_builder() -> None:
    assert issubclass(Client, _BaseClient) and issubclass(AsyncClient, _BaseClient)
    assert Client._build is AsyncClient._build and Client._parse is AsyncClient._parse
    assert Client._retry_delay is AsyncClient._retry_delay
