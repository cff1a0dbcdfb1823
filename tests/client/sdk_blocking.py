"""Drive an ``AsyncClient`` from synchronous test code, so one test body exercises both clients.

Each coroutine method runs to completion in its own ``anyio.run``; async generators are drained into
a list. Nothing is replaced: the real ``AsyncClient`` does every request.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import anyio

from memorylayer.client import AsyncCache, AsyncCaches, AsyncContainers


def _wrap(value: Any) -> Any:
    return Blocking(value) if isinstance(value, AsyncCache | AsyncCaches | AsyncContainers) else value


class Blocking:
    def __init__(self, target: Any) -> None:
        self._target = target

    @property
    def wrapped(self) -> Any:
        return self._target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):

            def run(*args: Any, **kwargs: Any) -> Any:
                return _wrap(anyio.run(functools.partial(attr, *args, **kwargs)))

            return run
        if inspect.isasyncgenfunction(attr):

            def collect(*args: Any, **kwargs: Any) -> Any:
                async def drain() -> list[Any]:
                    return [item async for item in attr(*args, **kwargs)]

                return iter(anyio.run(drain))

            return collect
        return _wrap(attr)
