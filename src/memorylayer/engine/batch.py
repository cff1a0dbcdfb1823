"""A partial batch: each item is checked on its own, the bad ones are refused in their place.

:func:`check` splits a batch into the memories to write and the refusals (an item that fails
validation, or a :class:`~memorylayer.types.Refused` an edge put in its place); the memories go
through the one write transaction as a whole batch does, and :func:`merge` puts every outcome back
at its item's index, so ``results`` stays one per item, in order.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any, Protocol

from ..errors import InvalidRequest
from ..types import AddResult, ItemResult, NewMemory, Refused
from . import validation as v
from .writes import Admit, Dedup, Prepared, Room


class _Engine(Protocol):
    quota: tuple[Admit, Room] | None

    def prepare(self, scope: str, items: builtins.list[NewMemory], *, dedup: Dedup = ...) -> Prepared: ...
    def commit(self, prepared: Prepared, admit: Admit | None = ..., room: Room | None = ...) -> AddResult: ...


class Batching:
    """Mixed into Engine: remember(batch), on the engine's account."""

    def add_batch(
        self: _Engine,
        scope: str,
        items: builtins.list[NewMemory] | builtins.list[NewMemory | Refused],
        *,
        dedup: bool = True,
        admit: Admit | None = None,
        partial: bool = False,
        room: Room | None = None,
    ) -> AddResult:
        """Store 1-1,000 memories verbatim in one transaction: keyed ones upsert, the rest pass dedup.

        Each item may say when it happened (``created_at``); ``dedup=False`` keeps every unkeyed
        value even when it repeats (a conversation's turns). Nothing is written if any item is bad,
        unless ``partial``: then each bad item (or a ``Refused`` an edge put in its place) is
        ``refused`` in its position and the others are written, in one transaction still; with a
        ``room`` (a quota, asked in that transaction), new memories past it are refused too
        (``quota_exceeded``). Every item refused writes nothing.

        Raises:
            InvalidRequest: a bad item (the field names its index; not with ``partial``) or batch size.
        """
        scope = v.scope(scope)
        mode: Dedup = "similar" if dedup else "none"
        if not partial:
            return self.commit(self.prepare(scope, v.new_memories(items), dedup=mode), admit)
        good, at, refused = check(items)
        if room is None and self.quota is not None:
            room = self.quota[1]
        written = self.commit(self.prepare(scope, good, dedup=mode), admit, room) if good else AddResult([])
        return merge(written, at, refused)


def check(items: Any) -> tuple[list[NewMemory], list[int], dict[int, ItemResult]]:
    """The valid memories, the index in ``items`` of each, and a ``refused`` result for the rest.

    Raises:
        InvalidRequest: the envelope is bad (not a list, empty, over 1,000 items); no item is checked.
    """
    good: list[NewMemory] = []
    at: list[int] = []
    refused: dict[int, ItemResult] = {}
    for i, item in enumerate(v.batch(items)):
        if isinstance(item, Refused):
            refused[i] = ItemResult(i, "refused", "", code=item.code, message=item.message, details=item.details)
            continue
        try:
            good.append(v.new_memory(item, i))
        except InvalidRequest as exc:
            refused[i] = ItemResult(i, "refused", "", code=exc.code, message=exc.message, details=exc.details)
        else:
            at.append(i)
    return good, at, refused


def merge(written: AddResult, at: list[int], refused: dict[int, ItemResult]) -> AddResult:
    """``written`` (the results of the valid items, by their place among them) with the refusals, by item index."""
    results = {**refused, **{at[r.index]: replace(r, index=at[r.index]) for r in written.items}}
    return replace(written, items=[results[i] for i in sorted(results)])
