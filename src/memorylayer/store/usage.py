"""Daily usage counts per account (API calls and MCP tool calls per UTC day), for the dashboard's chart.

Counting is one upsert per call, done in the transaction that meters it. Days are ``YYYY-MM-DD`` (UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DailyUsage:
    day: str
    api_calls: int = 0
    mcp_calls: int = 0


class UsageStore(Protocol):
    def count_usage(self, account_id: str, day: str, *, api_calls: int = 0, mcp_calls: int = 0) -> None:
        """Add to the account's counts of ``day``."""
        ...

    def daily_usage(self, account_ids: Sequence[str], since: str) -> list[DailyUsage]:
        """Counts of ``account_ids`` summed per day from ``since`` on, oldest first; days without calls are absent."""
        ...
