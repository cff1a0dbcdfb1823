"""A writer for the concurrency tests, run in a thread or as ``python store_writer.py URL NAME ROUNDS``.

Each round is one transaction through the writer's backend: a new memory, a read-modify-write of a
shared keyed counter, the shared account found or created, one metered call on it and one MCP daily call.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from store_support import ACCOUNT, SCOPE, memory, put, unit

from memorylayer.store import Backend, open_backend

COUNTER_KEY = "counter"
EMAIL = "writers@example.com"
DAY = "2026-01-01"
UNLIMITED = 10**9


def write_rounds(backend: Backend, name: str, rounds: int) -> None:
    store, accounts = backend.memories, backend.accounts
    for i in range(rounds):
        with backend.transaction():
            put(store, f"writer {name} fact {i}")
            counter = store.get_by_key(ACCOUNT, SCOPE, COUNTER_KEY)
            if counter is None:
                store.insert(memory("1", key=COUNTER_KEY), unit(1), ["counter"])
            else:
                store.replace(replace(counter, value=str(int(counter.value) + 1)), None, None)
            account = accounts.account_by_email(EMAIL) or accounts.create_account(
                EMAIL, plan_tier="free", memory_limit=UNLIMITED, monthly_api_call_limit=UNLIMITED, now=1_000
            )
            accounts.meter(account.id, now=1_000, window_ms=UNLIMITED, limit=UNLIMITED)
            accounts.take_daily_call("shared-key", DAY, UNLIMITED)


if __name__ == "__main__":
    opened = open_backend(sys.argv[1])
    try:
        write_rounds(opened, sys.argv[2], int(sys.argv[3]))
    finally:
        opened.close()
