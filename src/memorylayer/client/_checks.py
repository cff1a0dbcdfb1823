"""The wire's lengths and ranges, checked before a request is sent (all from ``memorylayer.limits``).

A body the server would refuse for a length or a range is refused here with the error the server
would answer: ``InvalidRequest`` (code ``invalid_request``) whose ``details`` are the same zod-shaped
issues, in the same order, with ``status`` 0 because nothing was sent. Types, formats (an email
address) and rules that need the server's state are left to the server::

    check(text("scope", scope, L.SCOPE), integer("maxTokens", max_tokens, L.MAX_TOKENS))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from .. import limits as L
from ..errors import InvalidRequest
from ..limits import EXTRACTION_MAX_BYTES, Bounds, has_lone_surrogate, utf16_len

Issue = dict[str, Any]


def text(field: str, value: str | None, bounds: Bounds, *, trim: bool = False) -> list[Issue]:
    """``value`` (absent when ``None``) is ``bounds.min``–``bounds.max`` UTF-16 code units long."""
    if not isinstance(value, str):
        return []
    value = value.strip() if trim else value
    if has_lone_surrogate(value):
        return [{"code": "custom", "path": [field], "message": "Invalid input: unpaired UTF-16 surrogate"}]
    length = utf16_len(value)
    issues = []
    if length < bounds.min:
        message = f"Too small: expected string to have >={bounds.min} characters"
        issues.append(_out_of_range(field, "string", "too_small", bounds.min, message))
    if length > bounds.max:
        message = f"Too big: expected string to have <={bounds.max} characters"
        issues.append(_out_of_range(field, "string", "too_big", bounds.max, message))
    return issues


def number(field: str, value: float | None, low: float, high: float) -> list[Issue]:
    """``value`` (absent when ``None``) is in [``low``, ``high``]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    if value < low:
        return [_out_of_range(field, "number", "too_small", low, f"Too small: expected number to be >={_shown(low)}")]
    if value > high:
        return [_out_of_range(field, "number", "too_big", high, f"Too big: expected number to be <={_shown(high)}")]
    return []


def integer(field: str, value: int | None, bounds: Bounds) -> list[Issue]:
    """``value`` (absent when ``None``) is in ``bounds``; a non-integer is the server's to refuse."""
    if isinstance(value, bool) or not isinstance(value, int):
        return []
    return number(field, value, bounds.min, bounds.max)


def check(*found: list[Issue]) -> None:
    """Raise every issue found, in the order given (the schema's field order).

    Raises:
        InvalidRequest: with ``details`` = the issues and ``status`` 0 (the request was not sent).
    """
    issues = [issue for field_issues in found for issue in field_issues]
    if not issues:
        return
    summary = "; ".join(f"{'.'.join(map(str, issue['path']))}: {issue['message']}" for issue in issues)
    raise InvalidRequest(f"Invalid request body (not sent): {summary}", details=issues, status=0)


def extraction_size(value: str) -> None:
    """Free text goes to extraction, which takes at most ``EXTRACTION_MAX_BYTES`` of UTF-8 (spec §5.1).

    Raises:
        InvalidRequest: ``value`` is larger, as the server would answer (``status`` 0: not sent).
    """
    size = len(value.encode("utf-8")) if isinstance(value, str) and not has_lone_surrogate(value) else 0
    if size > EXTRACTION_MAX_BYTES:
        raise InvalidRequest(
            "Value exceeds maximum size for extraction (not sent)",
            details={"maxBytes": EXTRACTION_MAX_BYTES, "actualBytes": size},
            status=0,
        )


def _out_of_range(field: str, origin: str, code: str, bound: float, message: str) -> Issue:
    side = "minimum" if code == "too_small" else "maximum"
    return {"origin": origin, "code": code, side: bound, "inclusive": True, "path": [field], "message": message}


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class BatchItem(TypedDict, total=False):
    """One memory of ``add_batch`` (a plain string is a value alone)."""

    value: str
    key: str
    importance: float
    created_at: datetime | str
    expires_at: datetime | str
    ttl_seconds: int


def items_list(items: Any) -> Sequence[BatchItem | str]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise TypeError("items: expected a list of memories (dicts with value, and key, importance, created_at)")
    return items


def compact(**fields: Any) -> dict[str, Any]:
    """The fields that are set (a body leaves out what the caller did not give)."""
    return {name: value for name, value in fields.items() if value is not None}


def iso(value: datetime | str | None) -> str | None:
    """The wire's ``…Z`` form of a timezone-aware datetime (a string passes as it is)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("datetime filters must be timezone-aware (e.g. datetime.now(UTC))")
    stamp = value.astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def batch_item(item: BatchItem | str) -> dict[str, Any]:
    """An item's wire fields, its times in the wire's form."""
    item = {"value": item} if isinstance(item, str) else item
    return compact(key=item.get("key"), value=item.get("value"), importance=item.get("importance"),
                   createdAt=iso(item.get("created_at")), expiresAt=iso(item.get("expires_at")),
                   ttlSeconds=item.get("ttl_seconds"))  # fmt: skip


def batch_issues(wire: list[dict[str, Any]], *, each: bool = True) -> list[Issue]:
    """The batch's size and (``each``) each item's lengths and ranges (paths ``["items", i, field]``).

    A partial batch checks its size alone: the server refuses a bad item in its result.
    """
    bounds = L.BATCH_ITEMS
    if not bounds.min <= len(wire) <= bounds.max:
        small = len(wire) < bounds.min
        bound, words = (bounds.min, ("small", ">=")) if small else (bounds.max, ("big", "<="))
        message = f"Too {words[0]}: expected array to have {words[1]}{bound} items"
        code = "too_small" if small else "too_big"
        return [_out_of_range("items", "array", code, bound, message)]
    issues = []
    for i, item in enumerate(wire if each else []):
        found = [
            *text("key", item.get("key"), L.KEY),
            *text("value", item.get("value"), L.VALUE),
            *number("importance", item.get("importance"), L.IMPORTANCE_MIN, L.IMPORTANCE_MAX),
        ]
        issues += [{**issue, "path": ["items", i, *issue["path"]]} for issue in found]
    return issues
