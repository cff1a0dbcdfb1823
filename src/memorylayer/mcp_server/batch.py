"""memory_remember_batch's items in, its per-item results out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine.jsonl import parse_time
from ..errors import InvalidRequest
from ..types import AddResult, NewMemory, Refused


def memories(items: Sequence[Any], partial: bool) -> list[NewMemory | Refused]:
    """The tool's items as memories; with ``partial`` an item whose time cannot be read is refused in place.

    Raises:
        InvalidRequest: without ``partial``, an unreadable ``created_at`` (its index is given).
    """
    out: list[NewMemory | Refused] = []
    for i, item in enumerate(items):
        try:
            created = parse_time(item.created_at, f"items[{i}].created_at")
        except InvalidRequest as exc:
            if not partial:
                raise
            out.append(Refused(exc.code, exc.message, exc.details))
            continue
        out.append(NewMemory(item.content, key=item.key, importance=item.importance, created_at=created))
    return out


def rows(result: AddResult) -> list[dict[str, Any]]:
    """One row per item, in order; a refused one has no ``memory_id`` and says its ``code`` and ``message``."""
    out = []
    for r in result.items:
        row: dict[str, Any] = {"index": r.index, "status": r.status, "memory_id": r.id, "supersedes": r.supersedes}
        if r.status == "refused":
            row.update(memory_id=None, code=r.code, message=r.message)
        out.append(row)
    return out
