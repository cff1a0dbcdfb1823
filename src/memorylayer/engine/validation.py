"""Input checks shared by every engine call; each failure is an InvalidRequest with a field path."""

from __future__ import annotations

import json
import math
from typing import Any

from .. import limits
from ..errors import InvalidRequest
from ..limits import Bounds, has_control_character, has_lone_surrogate, utf16_len
from ..sourcetree import MAX_FILE_BYTES, SourceFile
from ..types import NewMemory, now_ms


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"path": [field], "message": message}])


def text(value: Any, field: str, bounds: Bounds, *, name: bool = False) -> str:
    """A string within ``bounds`` (UTF-16 units), not blank, valid Unicode and without NUL.

    A ``name`` (scope, key, id) holds no control character at all, so it prints as what it is.
    """
    if not isinstance(value, str):
        raise _bad(field, f"expected a string, got {type(value).__name__}")
    if has_lone_surrogate(value):
        raise _bad(field, "is not valid Unicode (a lone surrogate, e.g. from bytes that are not UTF-8)")
    if name and has_control_character(value):
        raise _bad(field, "must not contain control characters (NUL, newline, tab, DEL...)")
    if "\x00" in value:
        raise _bad(field, "must not contain NUL characters")
    length = utf16_len(value)
    if length < bounds.min or (bounds.min and not value.strip()):
        raise _bad(field, f"must be at least {bounds.min} character(s) and not blank")
    if length > bounds.max:
        raise _bad(field, f"must be at most {bounds.max} characters (got {length})")
    return value


def scope(value: Any, field: str = "scope") -> str:
    return text(value, field, limits.SCOPE, name=True)


def key(value: Any, field: str = "key") -> str:
    return text(value, field, limits.KEY, name=True)


def memory_value(value: Any, field: str = "value") -> str:
    return text(value, field, limits.VALUE)


def query(value: Any) -> str:
    return text(value, "query", limits.QUERY)


def unit_interval(value: Any, field: str) -> float:
    """An importance, in [IMPORTANCE_MIN, IMPORTANCE_MAX]."""
    return _number(value, field, limits.IMPORTANCE_MIN, limits.IMPORTANCE_MAX)


def score(value: Any, field: str) -> float:
    """A score threshold, in [SCORE_MIN, SCORE_MAX]."""
    return _number(value, field, limits.SCORE_MIN, limits.SCORE_MAX)


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(field, f"expected a number between {low} and {high}")
    if not low <= value <= high:
        raise _bad(field, f"must be between {low} and {high} (got {value})")
    return float(value)


def integer(value: Any, field: str, bounds: Bounds) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, "expected an integer")
    if value not in bounds:
        raise _bad(field, f"must be between {bounds.min} and {bounds.max} (got {value})")
    return value


def optional_time(value: Any, field: str) -> int | None:
    """Milliseconds since the epoch, or None."""
    return None if value is None else integer(value, field, limits.TIME_MS)


def expiry(expires_at: Any, ttl: Any, now: int, field: str = "expires_at") -> int | None:
    """When a memory disappears: an instant (ms) still to come, or ``now`` + ``ttl`` seconds; None if neither.

    Raises:
        InvalidRequest: both given, a past instant, or a ttl out of bounds.
    """
    if expires_at is not None and ttl is not None:
        raise _bad(field, "give an expiry or a ttl, not both")
    if ttl is not None:
        return now + 1000 * integer(ttl, "ttl", limits.TTL_SECONDS)
    if expires_at is None:
        return None
    stamp = integer(expires_at, field, limits.TIME_MS)
    if stamp <= now:
        raise _bad(field, "is not in the future (a memory cannot be added already expired)")
    return stamp


def metadata(value: Any, field: str = "metadata") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(field, "expected an object with string keys")
    if limits.json_depth_exceeds(value):
        raise _bad(field, f"must not nest deeper than {limits.JSON_MAX_DEPTH} levels")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _bad(field, f"must be JSON-serialisable ({exc})") from exc
    if has_lone_surrogate(encoded):
        raise _bad(field, "is not valid Unicode (a lone surrogate)")
    if _holds_nul(value):
        raise _bad(field, "must not contain NUL characters")
    if len(encoded.encode()) > limits.METADATA_MAX_BYTES:
        raise _bad(field, f"must be at most {limits.METADATA_MAX_BYTES} bytes as JSON")
    return dict(value)


def _holds_nul(value: Any) -> bool:
    """Whether a (depth-checked) JSON value has NUL in a string or key; PostgreSQL cannot store one."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _bad(field, f"must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def memory_id(value: Any) -> str:
    return text(value, "memory_id", limits.MEMORY_ID, name=True)


def defaults(value: Any) -> dict[str, str] | None:
    """Recall's fallback facts: an object of string values, or None."""
    if value is not None and (
        not isinstance(value, dict) or not all(isinstance(x, str) for x in (*value, *value.values()))
    ):
        raise InvalidRequest("defaults: expected an object of string values")
    return value


def new_memories(value: Any) -> list[NewMemory]:
    """A batch of 1-1,000 memories to store verbatim, each checked (the field names its index).

    Raises:
        InvalidRequest: the batch's size, or its first bad item.
    """
    return [new_memory(item, i) for i, item in enumerate(batch(value))]


def batch(value: Any) -> list[Any]:
    """A batch's envelope: a list of 1-1,000 items (each still to check).

    Raises:
        InvalidRequest: not a list, or empty, or too long.
    """
    if not isinstance(value, list) or len(value) not in limits.BATCH_ITEMS:
        bounds = limits.BATCH_ITEMS
        raise _bad("items", f"expected a list of {bounds.min} to {bounds.max} memories")
    return value


def new_memory(item: Any, i: int) -> NewMemory:
    """Item ``i`` of a batch, checked; every field's name carries its index (``items[3].value``).

    Raises:
        InvalidRequest: the item's first bad field.
    """
    if not isinstance(item, NewMemory):
        raise _bad(f"items[{i}]", "expected a NewMemory")
    importance = None if item.importance is None else unit_interval(item.importance, f"items[{i}].importance")
    return NewMemory(
        memory_value(item.value, f"items[{i}].value"),
        key=None if item.key is None else key(item.key, f"items[{i}].key"),
        metadata=metadata(item.metadata, f"items[{i}].metadata"),
        importance=importance,
        created_at=optional_time(item.created_at, f"items[{i}].created_at"),
        source=choice(item.source, f"items[{i}].source", ("explicit", "imported")),
        expires_at=expiry(item.expires_at, None, now_ms(), f"items[{i}].expires_at"),
    )


def source_files(value: Any) -> list[SourceFile]:
    """Files sent for a code ingest: 1-2,000 ``SourceFile`` (or ``{"path", "text"}``) with relative paths."""
    if not isinstance(value, list) or not 1 <= len(value) <= limits.CODE_FILES.max:
        raise _bad("files", f"expected a list of 1-{limits.CODE_FILES.max} files")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            item = SourceFile(item.get("path"), item.get("text"))  # type: ignore[arg-type]
        if not isinstance(item, SourceFile):
            raise _bad(f"files[{i}]", "expected an object with path and text")
        path = text(item.path, f"files[{i}].path", limits.CODE_PATH, name=True)
        if path.startswith("/") or "\\" in path or any(part in ("", ".", "..") for part in path.split("/")):
            raise _bad(f"files[{i}].path", "expected a relative path with / separators, without . or ..")
        if not isinstance(item.text, str) or "\x00" in item.text:
            raise _bad(f"files[{i}].text", "expected text without NUL")
        if len(item.text) > MAX_FILE_BYTES:
            raise _bad(f"files[{i}].text", f"longer than {MAX_FILE_BYTES} characters")
        out.append(SourceFile(path, item.text))
    return out
