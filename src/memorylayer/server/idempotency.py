"""``Idempotency-Key``: a request runs once per key, and every request with the key gets its answer.

The key is reserved (in the database, under the account) when its request starts. A request with
the same key and body that arrives meanwhile waits for the first, up to ``IDEMPOTENCY_WAIT_S``, and
replays its exact answer; with another body it is refused (409 ``idempotency_conflict``). A first
request that fails releases the key, so a retry runs again instead of replaying a failure; one that
died without releasing it is taken over after ``IDEMPOTENCY_ABANDONED_S``. Answers are kept for
``IDEMPOTENCY_TTL_S``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import IdempotencyConflict, IdempotencyInProgress, InvalidRequest
from ..limits import IDEMPOTENCY_ABANDONED_S, IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_S, IDEMPOTENCY_WAIT_S, utf16_len
from ..store.accounts import IdempotencyRecord
from .core import ServerState

#: How often a waiting request looks whether the first one finished.
POLL_S = 0.05
Answer = tuple[int, dict[str, Any]]


def fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """What makes two requests "the same": method, path and the validated body."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def checked_key(key: str) -> str:
    """The header's value, if it is a usable key.

    Raises:
        InvalidRequest: longer than ``IDEMPOTENCY_KEY`` allows.
    """
    if utf16_len(key) > IDEMPOTENCY_KEY.max:
        raise InvalidRequest(f"Idempotency-Key must be at most {IDEMPOTENCY_KEY.max} characters")
    return key


def run_once(srv: ServerState, account_id: str, key: str, print_: str, work: Callable[[], Answer]) -> Answer:
    """``work()``'s answer, run at most once per (account, key) at a time; a finished key replays its answer.

    Raises:
        IdempotencyConflict: the key was used with another body.
        IdempotencyInProgress: the first request with the key was still running after the wait.
        MemoryLayerError: whatever ``work`` raises (the key is released, so a retry runs again).
    """
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_S
    while True:
        outcome = _reserve_or_replay(srv, account_id, key, print_)
        if isinstance(outcome, str):
            token = outcome
            break
        if outcome is not None:
            return outcome
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress(
                "A request with this Idempotency-Key is still running; retry later to get its answer",
                details={"waitedSeconds": IDEMPOTENCY_WAIT_S},
            )
        time.sleep(POLL_S)
    try:
        status, payload = work()
    except BaseException:
        srv.store.release_idempotency(account_id, key, token)
        raise
    response = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    srv.store.finish_idempotency(account_id, key, token, status=status, response=response, now=srv.now())
    return status, payload


def _reserve_or_replay(srv: ServerState, account_id: str, key: str, print_: str) -> str | Answer | None:
    """A new reservation's token, the finished answer to replay, or None while another request runs."""
    now = srv.now()
    with srv.store.atomic():
        srv.store.lock(f"idempotency:{account_id}:{key}")
        record = srv.store.idempotency_record(account_id, key)
        if record is None or _expired(record, now):
            token = str(uuid.uuid4())
            srv.store.reserve_idempotency(IdempotencyRecord(account_id, key, print_, token, now))
            return token
        if record.fingerprint != print_:
            raise IdempotencyConflict(
                "This Idempotency-Key was already used with a different request body; use a new key",
                details={"idempotencyKey": key},
            )
        if record.done and record.status is not None and record.response is not None:
            payload: dict[str, Any] = json.loads(record.response)
            return record.status, payload
        return None


def _expired(record: IdempotencyRecord, now: int) -> bool:
    if record.done:
        return record.finished_at is not None and record.finished_at + IDEMPOTENCY_TTL_S * 1000 <= now
    return record.reserved_at + IDEMPOTENCY_ABANDONED_S * 1000 <= now
