"""How a memory row is read here: the shared columns and record (``store/rows.py``) and the live-row test."""

from __future__ import annotations

from ..rows import COLUMNS, FROM, record_of

#: A row every read sees: not superseded, not expired (the one parameter is now, in ms). A memory
#: past its expiry is gone for reads at once, whether or not a sweep has purged it yet.
LIVE = "m.superseded_by IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?)"

__all__ = ["COLUMNS", "FROM", "LIVE", "record_of"]
