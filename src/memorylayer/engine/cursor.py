"""Exact, opaque pagination cursors for ``list``: no row is repeated or skipped between pages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..errors import InvalidRequest


def encode_cursor(value: Any, memory_id: str) -> str:
    """An opaque cursor: the order value and id of the last row of a page."""
    raw = json.dumps({"v": value, "id": memory_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: Any, order_by: str) -> tuple[Any, str]:
    """The (order value, id) a cursor from :func:`encode_cursor` holds.

    Raises:
        InvalidRequest: "Invalid cursor" for anything else.
    """
    invalid = InvalidRequest("Invalid cursor")
    if not isinstance(cursor, str):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid from None
    if not isinstance(data, dict) or set(data) != {"v", "id"} or not isinstance(data["id"], str):
        raise invalid
    value = data["v"]
    expected = float if order_by == "importance" else int
    if value is not None and (isinstance(value, bool) or not isinstance(value, expected | int)):
        raise invalid
    return value, data["id"]
