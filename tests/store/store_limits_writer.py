"""A racer for the limit tests, run in a thread or as ``python store_limits_writer.py URL NAME ATTEMPTS``.

Every attempt is one transaction through the racer's own backend, against limits the test set up
(:func:`prepare`): a count-then-insert rule under :meth:`AccountStore.lock`, and each store method
that checks and writes at once. It prints (or returns) how many attempts of each kind succeeded.
"""

from __future__ import annotations

import json
import sys
import uuid

from memorylayer.store import Backend, open_backend
from memorylayer.store.accounts import IdempotencyRecord

PARENT_EMAIL = "parent@example.com"
CONTAINERS, CALLS, DAILY, ENTRIES, ANSWERS = 5, 7, 9, 6, 8
CACHE, DAY, IDEM = "race-cache", "2026-01-01", "race-key"


def prepare(backend: Backend) -> None:
    """The parent account, a cache and a sign-in code the racers compete for."""
    accounts = backend.accounts
    parent = accounts.create_account(
        PARENT_EMAIL, plan_tier="pro", memory_limit=10, monthly_api_call_limit=CALLS, now=1_000
    )
    # The key whose monthly answer budget the racers share, as machines sharing one API key do.
    accounts.create_key(parent.id, key_hash="race-key-hash", key_prefix="ml_race", scopes="memory:read", now=1_000)
    accounts.create_cache(
        cache_id=CACHE, token_hash="t", claim_token_hash="c", ip_address="10.0.0.1", ttl_seconds=60, now=1_000
    )
    accounts.add_code(email=PARENT_EMAIL, code_hash="h", ip_address=None, now=1_000, expires_at=10**12)


def race(backend: Backend, name: str, attempts: int) -> dict[str, int]:
    accounts = backend.accounts
    parent = accounts.account_by_email(PARENT_EMAIL)
    code = accounts.latest_code(PARENT_EMAIL, now=2_000)
    code_id = code.id if code is not None else "used-before-this-racer-started"
    assert parent is not None
    key_id = accounts.list_keys(parent.id)[0].id
    kinds = ("containers", "calls", "daily", "entries", "claims", "codes", "reservations", "answers")
    won = dict.fromkeys(kinds, 0)
    for i in range(attempts):
        with accounts.atomic():
            accounts.lock(f"account:{parent.id}")
            if len(accounts.containers(parent.id)) < CONTAINERS:
                accounts.create_account(
                    f"{name}-{i}@sub",
                    plan_tier="pro",
                    memory_limit=1,
                    monthly_api_call_limit=1,
                    now=2_000,
                    parent_account_id=parent.id,
                    name=f"{name}-{i}",
                )
                won["containers"] += 1
        won["calls"] += accounts.meter(parent.id, now=2_000, window_ms=10**9, limit=CALLS).allowed
        won["daily"] += accounts.take_daily_call("race-key", DAY, DAILY) is not None
        won["answers"] += accounts.take_operation_call(key_id, "2026-01", "answer", ANSWERS) is not None
        won["entries"] += accounts.set_entry(CACHE, f"{name}-{i}", "v", now=2_000, max_entries=ENTRIES) is not None
        won["claims"] += accounts.mark_claimed(CACHE, parent.id, now=2_000)
        won["codes"] += accounts.use_code(code_id, now=2_000)
        with accounts.atomic():
            accounts.lock(f"idempotency:{parent.id}:{IDEM}")
            if accounts.idempotency_record(parent.id, IDEM) is None:
                accounts.reserve_idempotency(IdempotencyRecord(parent.id, IDEM, "p", str(uuid.uuid4()), 2_000))
                won["reservations"] += 1
    return won


if __name__ == "__main__":
    opened = open_backend(sys.argv[1])
    try:
        print(json.dumps(race(opened, sys.argv[2], int(sys.argv[3]))))
    finally:
        opened.close()
