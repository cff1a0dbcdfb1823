"""Accounts, API keys, caches, sign-in codes and idempotency records of the server.

The server talks to these through :class:`AccountStore`, so a PostgreSQL backend can implement the
same protocol. Times are integer milliseconds UTC; secrets are only ever stored hashed.

Limits hold under concurrency in two ways, both inside one transaction with the write they guard:

* a store method that checks and writes at once (``meter``, ``take_daily_call``, ``take_operation_call``,
  ``set_entry``'s entry cap, ``mark_claimed``, ``use_code``): it must stay atomic against concurrent callers in any
  process (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a conditional ``UPDATE`` or a row lock);
* a rule of :mod:`memorylayer.server.accounts` that counts and then writes: it first takes
  :meth:`AccountStore.lock` on what it counts, so two transactions never count the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Account:
    """A top-level account, or a container when ``parent_account_id`` is set."""

    id: str
    email: str
    plan_tier: str
    plan_status: str
    memory_limit: int
    monthly_api_call_limit: int
    api_calls_this_period: int
    current_period_start: int
    created_at: int
    current_period_end: int | None = None
    parent_account_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extraction_prompt: str | None = None

    @property
    def is_container(self) -> bool:
        return self.parent_account_id is not None


@dataclass(frozen=True)
class ApiKey:
    id: str
    account_id: str
    key_prefix: str
    scopes: str
    created_at: int
    name: str | None = None
    issued_to: str | None = None
    expires_at: int | None = None
    revoked_at: int | None = None
    parent_key_id: str | None = None
    last_used_at: int | None = None


@dataclass(frozen=True)
class Cache:
    id: str
    ip_address: str
    ttl_seconds: int
    expires_at: int
    created_at: int
    claimed_by_account_id: str | None = None
    claimed_at: int | None = None


@dataclass(frozen=True)
class CacheEntry:
    key: str
    value: str
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class AuthCode:
    """A sign-in code; ``code_hash`` is a keyed hash (the server secret's HMAC), never the code."""

    id: str
    email: str
    code_hash: str
    created_at: int
    expires_at: int
    used_at: int | None = None
    ip_address: str | None = None


@dataclass(frozen=True)
class SignInFailures:
    """Wrong codes guessed for one email since ``first_at``; the email is locked until ``locked_until``.

    The lock belongs to the email, not to a code, so requesting a new code never lifts it.
    """

    email: str
    count: int
    first_at: int
    locked_until: int | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """One ``Idempotency-Key`` of one account: reserved by a running request, then its answer.

    ``token`` identifies the reservation, so only the request holding it can finish or release it
    (after a reservation is taken over as abandoned, its old holder can do neither).
    """

    account_id: str
    key: str
    fingerprint: str
    token: str
    reserved_at: int
    status: int | None = None
    response: str | None = None
    finished_at: int | None = None

    @property
    def done(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class MeterResult:
    """Outcome of counting one API call: ``allowed`` False means the limit was already reached."""

    allowed: bool
    count: int
    period_start: int


class AccountStore(Protocol):
    """Persistence for the server's tenancy data. Every method is one transaction unless inside ``atomic``."""

    def atomic(self) -> AbstractContextManager[Any]:
        """Group several calls into one transaction (re-entrant)."""
        ...

    def lock(self, name: str) -> None:
        """Inside a transaction: wait until no other transaction holds the lock ``name``, then hold it
        until this transaction ends (commit or rollback).

        Rules that count rows and then write take the lock of what they count first (names such as
        ``account:<id>``, ``caches-from:<ip>``, ``sign-in:<email>``), so their limits hold across
        threads, processes and replicas. What the transaction reads after taking the lock must include
        everything earlier holders committed. SQLite has nothing to do (``BEGIN IMMEDIATE`` already
        serialises the file's writers); PostgreSQL takes ``pg_advisory_xact_lock`` on the name's hash
        (at READ COMMITTED, so later statements see the previous holder's rows).

        Raises:
            InternalError: called outside a transaction.
        """
        ...

    # accounts and containers
    def create_account(
        self,
        email: str,
        *,
        plan_tier: str,
        memory_limit: int,
        monthly_api_call_limit: int,
        parent_account_id: str | None = None,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        now: int,
    ) -> Account:
        """A new account, or a container of ``parent_account_id``.

        Raises:
            Conflict: the email is taken, or the parent already has a container of that name.
        """
        ...

    def get_account(self, account_id: str) -> Account | None: ...
    def account_by_email(self, email: str) -> Account | None: ...
    def list_accounts(self) -> list[Account]: ...
    def containers(self, parent_account_id: str) -> list[Account]: ...
    def container_by_name(self, parent_account_id: str, name: str) -> Account | None: ...
    def set_plan(
        self, account_id: str, *, plan_tier: str, memory_limit: int, monthly_api_call_limit: int
    ) -> Account | None: ...
    def set_extraction_prompt(self, account_id: str, prompt: str | None) -> None: ...
    def delete_account(self, account_id: str) -> bool: ...
    def meter(self, account_id: str, *, now: int, window_ms: int, limit: int) -> MeterResult:
        """Count one API call of ``account_id`` unless ``limit`` calls were counted in its current window.

        A window older than ``window_ms`` at ``now`` starts again from zero at ``now``. Atomic: however
        many callers race, no more than ``limit`` calls are ever allowed in one window.
        """
        ...

    # API keys
    def create_key(
        self,
        account_id: str,
        *,
        key_hash: str,
        key_prefix: str,
        scopes: str,
        now: int,
        name: str | None = None,
        issued_to: str | None = None,
        expires_at: int | None = None,
        parent_key_id: str | None = None,
    ) -> ApiKey: ...
    def key_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def get_key(self, key_id: str) -> ApiKey | None: ...
    def list_keys(self, account_id: str) -> list[ApiKey]: ...
    def revoke_key(self, key_id: str, *, now: int) -> bool: ...
    def touch_key(self, key_id: str, *, now: int) -> None: ...
    def count_active_keys(self, account_id: str) -> int: ...

    # caches
    def create_cache(
        self,
        *,
        cache_id: str,
        token_hash: str,
        claim_token_hash: str,
        ip_address: str,
        ttl_seconds: int,
        now: int,
    ) -> Cache: ...
    def caches_created_since(self, ip_address: str, since: int) -> list[int]:
        """Creation times of the caches ``ip_address`` created after ``since``, oldest first."""
        ...

    def get_cache(self, cache_id: str) -> Cache | None: ...
    def cache_by_token(self, token_hash: str) -> Cache | None: ...
    def cache_by_claim_token(self, claim_token_hash: str) -> Cache | None: ...
    def set_entry(self, cache_id: str, key: str, value: str, *, now: int, max_entries: int) -> CacheEntry | None:
        """Upsert an entry; None (nothing written) when ``key`` is new and the cache holds ``max_entries``.

        Atomic: concurrent callers never together pass ``max_entries``.
        """
        ...

    def get_entry(self, cache_id: str, key: str) -> CacheEntry | None: ...
    def delete_entry(self, cache_id: str, key: str) -> bool: ...
    def list_entries(self, cache_id: str) -> list[CacheEntry]: ...
    def mark_claimed(self, cache_id: str, account_id: str, *, now: int) -> bool:
        """Claim an unclaimed cache for ``account_id``; False if it was claimed already (atomic)."""
        ...

    def release_claim(self, cache_id: str) -> None: ...

    # sign-in codes
    def add_code(
        self, *, email: str, code_hash: str, ip_address: str | None, now: int, expires_at: int
    ) -> AuthCode: ...
    def codes_since(self, *, since: int, email: str | None = None, ip_address: str | None = None) -> list[int]:
        """Creation times of the codes for ``email`` (else from ``ip_address``) after ``since``, oldest first."""
        ...

    def latest_code(self, email: str, *, now: int) -> AuthCode | None: ...
    def use_code(self, code_id: str, *, now: int) -> bool:
        """Mark an unused code used; False if it was used already (atomic: a code signs in once)."""
        ...

    def sign_in_failures(self, email: str) -> SignInFailures | None: ...
    def set_sign_in_failures(self, failures: SignInFailures) -> None:
        """Store the wrong-guess count of ``failures.email`` (replacing the previous one)."""
        ...

    def clear_sign_in_failures(self, email: str) -> None: ...

    # MCP calls per key per UTC day
    def take_daily_call(self, key_id: str, day: str, limit: int) -> int | None:
        """Count one call unless ``limit`` were already counted on ``day``: the new count, or None."""
        ...

    def daily_calls(self, key_id: str, day: str) -> int: ...

    # operation budgets per API key per calendar month (UTC)
    def take_operation_call(self, key_id: str, month: str, operation: str, limit: int) -> int | None:
        """Count one call of ``operation`` unless ``limit`` were already counted in ``month`` (``YYYY-MM``).

        The new count, or None (nothing counted). Atomic: however many processes race on one key, no
        more than ``limit`` calls are ever counted in one month.
        """
        ...

    def operation_calls(self, key_id: str, month: str) -> dict[str, int]:
        """The calls of each operation counted for ``key_id`` in ``month``; operations never called are absent."""
        ...

    # idempotent requests
    def idempotency_record(self, account_id: str, key: str) -> IdempotencyRecord | None: ...
    def reserve_idempotency(self, record: IdempotencyRecord) -> None:
        """Store ``record`` (unfinished) as the key's reservation, replacing an expired or abandoned one."""
        ...

    def finish_idempotency(
        self, account_id: str, key: str, token: str, *, status: int, response: str, now: int
    ) -> bool:
        """Record the answer of the reservation ``token``; False (nothing written) if it is no longer held."""
        ...

    def release_idempotency(self, account_id: str, key: str, token: str) -> None:
        """Drop the reservation ``token`` (its request failed), so the next request with the key runs."""
        ...


def iter_scopes(scopes: str) -> Iterator[str]:
    """The scope names of a comma-separated scopes string, trimmed, empty ones dropped."""
    for part in scopes.split(","):
        part = part.strip()
        if part:
            yield part
