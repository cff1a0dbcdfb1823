"""API keys and cache tokens: minting, hashing, authentication, scopes, plan gates and metering."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from ..errors import (
    InsufficientScope,
    KeyExpired,
    PlanRequired,
    RateLimited,
    Unauthorized,
)
from ..store.accounts import Account, AccountStore, ApiKey, Cache, iter_scopes
from ..types import iso_ms
from .core import ServerState, state, utc_day

READ = "memory:read"
WRITE = "memory:write"
ADMIN = "account:admin"
FULL_SCOPES = f"{READ},{WRITE},{ADMIN}"
CONTAINER_DEFAULT_SCOPES = f"{READ},{WRITE}"
KEY_PREFIX_LEN = 11
UPGRADE = {
    "action": "upgrade_plan",
    "url": "memorylayer admin set-plan",
    "api": "POST /v1/account/checkout",
    "description": "Ask the server operator to move this account to a higher plan "
    "(`memorylayer admin set-plan`); self-hosted servers have no checkout.",
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    """``prefix`` + base64url of 32 random bytes without padding (43 characters)."""
    return prefix + secrets.token_urlsafe(32)


def mint_key(
    store: AccountStore,
    account_id: str,
    *,
    scopes: str,
    now: int,
    name: str | None = None,
    issued_to: str | None = None,
    expires_at: int | None = None,
    parent_key_id: str | None = None,
) -> tuple[ApiKey, str]:
    """A new ``wm_live_`` key; returns the stored record and the raw key (shown exactly once)."""
    raw = new_token("wm_live_")
    key = store.create_key(
        account_id,
        key_hash=sha256(raw),
        key_prefix=raw[:KEY_PREFIX_LEN],
        scopes=scopes,
        now=now,
        name=name,
        issued_to=issued_to,
        expires_at=expires_at,
        parent_key_id=parent_key_id,
    )
    return key, raw


@dataclass(frozen=True)
class Caller:
    """The authenticated key, the account it acts as and the root account that is metered and billed."""

    key: ApiKey
    account: Account
    root: Account

    @property
    def scopes(self) -> list[str]:
        """The key's scopes; a container key never holds ``account:admin``, even one stored with it."""
        granted = list(iter_scopes(self.key.scopes))
        return [s for s in granted if s != ADMIN] if self.account.is_container else granted


def bearer(request: Request, missing: str, malformed: str) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized(missing)
    if not header.startswith("Bearer ") or not header[len("Bearer ") :].strip():
        raise Unauthorized(malformed)
    return header[len("Bearer ") :]


def authenticate(request: Request) -> Caller:
    """Resolve the API key of ``request`` and count the call (spec §2.1).

    Raises:
        Unauthorized: missing, malformed, unknown or revoked key.
        KeyExpired: the key is past its expiry.
        RateLimited: the root account used up its monthly API calls (Retry-After = until the window resets).
    """
    srv = state(request)
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    token = bearer(
        request, "Missing Authorization header", "Malformed Authorization header. Expected format: Bearer <key>"
    )
    key = srv.store.key_by_hash(sha256(token))
    account = srv.store.get_account(key.account_id) if key else None
    if key is None or account is None:
        raise Unauthorized("Invalid API key")
    now = srv.now()
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyExpired("API key has expired")
    root = account
    if account.parent_account_id:
        parent = srv.store.get_account(account.parent_account_id)
        if parent is None:
            raise Unauthorized("Invalid API key")
        root = parent
    window = srv.server.api_call_window_s * 1000
    with srv.store.atomic():
        metered = srv.store.meter(root.id, now=now, window_ms=window, limit=root.monthly_api_call_limit)
        if metered.allowed:
            # Per account and day, for the dashboard's usage chart; in the metering transaction.
            srv.usage.count_usage(account.id, utc_day(now), api_calls=1)
    if not metered.allowed:
        resets = metered.period_start + window
        raise RateLimited(
            f"Monthly API call limit reached ({metered.count:,} / {root.monthly_api_call_limit:,})",
            retry_after=max(1, -(-(resets - now) // 1000)),
            details={
                "current": metered.count,
                "limit": root.monthly_api_call_limit,
                "resets_at": iso_ms(resets),
                "recovery_options": [
                    {"action": "wait", "description": f"The counter resets at {iso_ms(resets)}."},
                    UPGRADE,
                ],
            },
        )
    srv.store.touch_key(key.id, now=now)
    caller = Caller(key, account, root)
    request.state.caller = caller
    # Usage reports the counters as loaded before this request was counted (spec §7.2).
    request.state.period = (root.api_calls_this_period, root.current_period_start)
    return caller


def require(caller: Caller, *scopes: str) -> None:
    """Raises InsufficientScope listing the missing scopes."""
    granted = caller.scopes
    missing = [s for s in scopes if s not in granted]
    if missing:
        raise InsufficientScope(
            f"API key lacks required scope(s): {', '.join(missing)}",
            details={"required": missing, "granted": granted},
        )


def require_top_level(caller: Caller) -> None:
    """Container keys may not manage containers (401, spec §2.2), checked before the scope."""
    if caller.account.is_container:
        raise Unauthorized("Containers cannot manage other containers")


def require_plan(srv: ServerState, account: Account, feature: str) -> None:
    """Raises PlanRequired unless the account's plan has ``feature`` ("containers" or "custom_prompt")."""
    plan = srv.server.plan(account.plan_tier)
    allowed = plan.custom_prompt if feature == "custom_prompt" else plan.containers != 0
    if allowed:
        return
    required = [
        p.name
        for p in srv.server.plans.values()
        if (p.custom_prompt if feature == "custom_prompt" else p.containers != 0)
    ]
    raise PlanRequired(
        f"This feature requires one of: {', '.join(required)}. Current plan: {account.plan_tier}.",
        details={"current_tier": account.plan_tier, "required_tiers": required, "recovery_options": [UPGRADE]},
    )


def authenticate_cache(request: Request) -> Cache:
    """The cache a cache token opens (spec §9); every failure is 401 ``unauthorized``."""
    srv = state(request)
    malformed = "Missing or malformed Authorization header"
    token = bearer(request, malformed, malformed)
    cache = srv.store.cache_by_token(sha256(token))
    if cache is None:
        raise Unauthorized("Invalid cache token")
    if cache.expires_at < srv.now():
        raise Unauthorized("Cache expired")
    if cache.claimed_at is not None:
        raise Unauthorized("Cache has been claimed")
    return cache


def period_json(srv: ServerState, start: int, count: int, now: int) -> dict[str, Any]:
    window = srv.server.api_call_window_s * 1000
    if now >= start + window:
        count, start = 0, now
    return {"apiCallsThisPeriod": count, "apiCallsResetAt": iso_ms(start + window)}
