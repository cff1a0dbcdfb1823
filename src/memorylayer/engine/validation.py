"""Input checks shared by every engine call; each failure is an InvalidRequest with a field path."""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import InvalidRequest

SCOPE_MAX = 255
KEY_MAX = 128
VALUE_MAX = 16384
QUERY_MAX = 8192
METADATA_MAX_BYTES = 16384


def utf16_len(text: str) -> int:
    """Length as JavaScript counts it (the wire protocol's limits are in UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"path": [field], "message": message}])


def text(value: Any, field: str, maximum: int, minimum: int = 1) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"expected a string, got {type(value).__name__}")
    length = utf16_len(value)
    if length < minimum or (minimum and not value.strip()):
        raise _bad(field, f"must be at least {minimum} character(s) and not blank")
    if length > maximum:
        raise _bad(field, f"must be at most {maximum} characters (got {length})")
    return value


def scope(value: Any, field: str = "scope") -> str:
    return text(value, field, SCOPE_MAX)


def key(value: Any) -> str:
    return text(value, "key", KEY_MAX)


def memory_value(value: Any, field: str = "value") -> str:
    return text(value, field, VALUE_MAX)


def query(value: Any) -> str:
    return text(value, "query", QUERY_MAX)


def unit_interval(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(field, "expected a number between 0 and 1")
    if not 0 <= value <= 1:
        raise _bad(field, f"must be between 0 and 1 (got {value})")
    return float(value)


def integer(value: Any, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, "expected an integer")
    if not minimum <= value <= maximum:
        raise _bad(field, f"must be between {minimum} and {maximum} (got {value})")
    return value


def metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad("metadata", "expected an object with string keys")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _bad("metadata", f"must be JSON-serialisable ({exc})") from exc
    if len(encoded.encode()) > METADATA_MAX_BYTES:
        raise _bad("metadata", f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return dict(value)


def choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _bad(field, f"must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def memory_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _bad("memory_id", "expected a non-empty string")
    return value
