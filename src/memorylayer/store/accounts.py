"""Accounts, API keys, caches, sign-in codes and idempotency records of the server.

The server talks to these through :class:`AccountStore`, so a PostgreSQL backend can implement the
same protocol later. Times are integer milliseconds UTC; secrets are only ever stored hashed.
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
    id: str
    email: str
    code_hash: str
    created_at: int
    expires_at: int
    attempts: int = 0
    locked_until: int | None = None
    used_at: int | None = None
    ip_address: str | None = None


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
    def meter(self, account_id: str, *, now: int, window_ms: int, limit: int) -> MeterResult: ...

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
    def caches_created_since(self, ip_address: str, since: int) -> list[int]: ...
    def cache_by_token(self, token_hash: str) -> Cache | None: ...
    def cache_by_claim_token(self, claim_token_hash: str) -> Cache | None: ...
    def set_entry(self, cache_id: str, key: str, value: str, *, now: int, max_entries: int) -> CacheEntry | None: ...
    def get_entry(self, cache_id: str, key: str) -> CacheEntry | None: ...
    def delete_entry(self, cache_id: str, key: str) -> bool: ...
    def list_entries(self, cache_id: str) -> list[CacheEntry]: ...
    def mark_claimed(self, cache_id: str, account_id: str, *, now: int) -> bool: ...
    def release_claim(self, cache_id: str) -> None: ...

    # sign-in codes
    def add_code(
        self, *, email: str, code_hash: str, ip_address: str | None, now: int, expires_at: int
    ) -> AuthCode: ...
    def codes_since(self, *, since: int, email: str | None = None, ip_address: str | None = None) -> list[int]: ...
    def latest_code(self, email: str, *, now: int) -> AuthCode | None: ...
    def fail_code(self, code_id: str, *, max_attempts: int, lock_until: int) -> AuthCode: ...
    def use_code(self, code_id: str, *, now: int) -> bool: ...

    # MCP calls per key per UTC day
    def take_daily_call(self, key_id: str, day: str, limit: int) -> int | None:
        """Count one call unless ``limit`` were already counted on ``day``: the new count, or None."""
        ...

    def daily_calls(self, key_id: str, day: str) -> int: ...

    # idempotent extraction adds
    def idempotent_result(self, account_id: str, key: str) -> list[str] | None: ...
    def save_idempotent_result(self, account_id: str, key: str, memory_ids: list[str], *, now: int) -> None: ...


def iter_scopes(scopes: str) -> Iterator[str]:
    """The scope names of a comma-separated scopes string, trimmed, empty ones dropped."""
    for part in scopes.split(","):
        part = part.strip()
        if part:
            yield part
