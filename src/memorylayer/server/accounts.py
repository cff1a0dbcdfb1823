"""The rules about accounts: memory quotas, containers, caches and their claim, sign-in by code.

Routes parse and render; everything they decide about accounts is here. Each rule runs in the same
transaction as the write it guards, so it holds however many requests (or processes) race it.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from ..engine.writes import Admit, Prepared, Room
from ..errors import (
    AlreadyClaimed,
    CacheEntryLimit,
    CacheExpired,
    ContainerLimitExceeded,
    ContainerNameExists,
    InvalidCode,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from ..store.accounts import Account, Cache, CacheEntry, SignInFailures
from ..types import NewMemory, iso_ms
from .auth import FULL_SCOPES, READ, UPGRADE, Caller, mint_key, new_token, sha256
from .core import ServerState
from .mail import send_code
from .secret import code_digest

HOUR_MS = 3_600_000
INVALID_CODE = "Invalid or expired verification code"
CLAIMED_MESSAGE = (
    "Cache has already been claimed. The container key was returned in the original claim response and "
    "cannot be re-issued. If you need a new key, use POST /v1/containers/{containerId}/keys "
    "(requires Pro plan or above)."
)


def account_lock(account_id: str) -> str:
    """The lock every rule counting what an account holds (memories, containers) takes first."""
    return f"account:{account_id}"


# -- memory quota (spec §10.3) ---------------------------------------------------------------------
def _live_memories(srv: ServerState, root: Account) -> int:
    """Live memories of a root account and all its containers: what its quota counts."""
    return srv.engine.count_accounts([root.id, *(c.id for c in srv.store.containers(root.id))])


def quota_guard(srv: ServerState, caller: Caller) -> Admit:
    """An ``admit`` for the engine: refuses a write that leaves the root account over its memory limit.

    It runs inside the write's transaction, after the rows are written, so concurrent writers can
    never together pass the limit.
    """

    def admit(added: int) -> None:
        srv.store.lock(account_lock(caller.root.id))
        total = _live_memories(srv, caller.root)
        if total > caller.root.memory_limit:
            raise quota_exceeded(caller, total - added)

    return admit


def quota_room(srv: ServerState, caller: Caller) -> Room:
    """A ``room`` for a partial batch: how many more live memories the root account may hold.

    Asked inside the write's transaction, before it writes, under the same lock as :func:`quota_guard`,
    so two batches at once cannot both take the last places.
    """

    def room() -> int:
        srv.store.lock(account_lock(caller.root.id))
        return caller.root.memory_limit - _live_memories(srv, caller.root)

    return room


def check_room(srv: ServerState, caller: Caller) -> None:
    """Refuse early when the quota is already used up (before paying for an extraction).

    The guard of :func:`quota_guard` still decides; this only saves work.
    """
    current = _live_memories(srv, caller.root)
    if current >= caller.root.memory_limit:
        raise quota_exceeded(caller, current)


def quota_exceeded(caller: Caller, current: int) -> QuotaExceeded:
    root = caller.root
    return QuotaExceeded(
        f"Memory limit reached ({current} / {root.memory_limit}).",
        details={
            "current": current,
            "limit": root.memory_limit,
            "plan_tier": root.plan_tier,
            "quota_scope": "container" if caller.account.is_container else "parent_account",
            "recovery_options": [
                {"action": "remove_memories", "description": "List memories and remove the ones you no longer need."},
                {
                    "action": "supersede_duplicates",
                    "description": "Re-add a fact under its existing (scope, key) to update it in place.",
                },
                UPGRADE,
            ],
        },
    )


# -- containers (spec §10.1) -------------------------------------------------------------------------
CONTAINER_EMAIL_DOMAIN = "sub.memorylayer.internal"


def _container_email() -> str:
    return f"sub_{secrets.token_hex(8)}@{CONTAINER_EMAIL_DOMAIN}"


def _insert_container(srv: ServerState, parent: Account, name: str, metadata: dict[str, Any] | None) -> Account:
    return srv.store.create_account(
        _container_email(),
        plan_tier=parent.plan_tier,
        memory_limit=parent.memory_limit,
        monthly_api_call_limit=parent.monthly_api_call_limit,
        parent_account_id=parent.id,
        name=name,
        metadata=metadata or {},
        now=srv.now(),
    )


def create_container(srv: ServerState, parent: Account, name: str, metadata: dict[str, Any] | None) -> Account:
    """A new container of ``parent``, within its plan's container cap and with a unique name.

    Raises:
        ContainerLimitExceeded: the plan's cap is reached. ContainerNameExists: the name is taken.
    """
    limit = srv.server.plan(parent.plan_tier).containers
    with srv.store.atomic():
        srv.store.lock(account_lock(parent.id))
        current = len(srv.store.containers(parent.id))
        if limit is not None and current >= limit:
            raise ContainerLimitExceeded(
                f"Container limit reached ({current} / {limit}).",
                details={
                    "current": current,
                    "limit": limit,
                    "plan_tier": parent.plan_tier,
                    "recovery_options": [
                        {"action": "delete_containers", "description": "Delete containers you no longer need."},
                        UPGRADE,
                    ],
                },
            )
        existing = srv.store.container_by_name(parent.id, name)
        if existing is not None:
            raise ContainerNameExists(
                f"A container named '{name}' already exists", details={"existing_container_id": existing.id}
            )
        return _insert_container(srv, parent, name, metadata)


def delete_container(srv: ServerState, container: Account) -> None:
    """Delete a container with its memories, history and keys, in one transaction."""
    with srv.engine.backend.transaction():
        srv.engine_for(container.id).drop_account()
        srv.store.delete_account(container.id)


# -- caches and their claim (spec §9) ------------------------------------------------------------------
@dataclass(frozen=True)
class NewCache:
    cache: Cache
    raw_token: str
    claim_token: str


def create_cache(srv: ServerState, ip: str, ttl_seconds: int) -> NewCache:
    """A new cache for ``ip``, within the per-IP creation limit.

    Raises:
        RateLimited: ``ip`` created its allowance of caches within the window.
    """
    now = srv.now()
    window = srv.server.cache_creation_window_s * 1000
    limit = srv.server.cache_creations_per_ip
    raw, claim = new_token("wm_tmp_"), new_token("wm_claim_")
    with srv.store.atomic():
        srv.store.lock(f"caches-from:{ip}")
        recent = srv.store.caches_created_since(ip, now - window)
        if len(recent) >= limit:
            hours = srv.server.cache_creation_window_s // 3600
            raise RateLimited(
                f"Cache creation rate limit exceeded ({limit} per {hours} hours)",
                retry_after=-(-(recent[-limit] + window - now) // 1000),
            )
        cache = srv.store.create_cache(
            cache_id=str(uuid.uuid4()),
            token_hash=sha256(raw),
            claim_token_hash=sha256(claim),
            ip_address=ip,
            ttl_seconds=ttl_seconds,
            now=now,
        )
    return NewCache(cache, raw, claim)


def claimable(srv: ServerState, claim_token: str) -> Cache:
    """The cache behind a claim token, checked in the spec's order: 404, 409, 410."""
    cache = srv.store.cache_by_claim_token(sha256(claim_token))
    if cache is None:
        raise NotFound("Cache not found")
    if cache.claimed_at is not None:
        raise AlreadyClaimed(CLAIMED_MESSAGE)
    if cache.expires_at < srv.now():
        raise CacheExpired("Cache has expired")
    return cache


@dataclass(frozen=True)
class Claim:
    container: Account
    scope: str
    memories_created: int
    container_key: str


def claim_cache(srv: ServerState, caller: Caller, claim_token: str) -> Claim:
    """Move a cache's entries into a new read-only container of the caller's root account.

    Marking the cache claimed, creating the container, writing its memories (within the quota) and
    minting its key are one transaction: a concurrent claim gets ``AlreadyClaimed``, an entry set
    concurrently is either claimed or refused, and a failure leaves the cache claimable with nothing
    half-made.

    Raises:
        NotFound, AlreadyClaimed, CacheExpired: see :func:`claimable`. QuotaExceeded: no room.
    """
    cache = claimable(srv, claim_token)
    scope, short = f"cache-{cache.id}", cache.id[:8]
    # Embedded before the transaction, so the write lock is never held while the model runs.
    early = srv.engine.prepare(scope, _cache_memories(srv.store.list_entries(cache.id)), dedup="none")
    parent, now = caller.root, srv.now()
    with srv.engine.backend.transaction():
        srv.store.lock(cache_lock(cache.id))
        if not srv.store.mark_claimed(cache.id, parent.id, now=now):
            raise AlreadyClaimed(CLAIMED_MESSAGE)
        # Read again under the lock: what was set meanwhile is claimed too (and embedded now).
        items = _cache_memories(srv.store.list_entries(cache.id))
        known = {(m.key, m.value): v for m, v in zip(early.items, early.vectors, strict=True)}
        prepared = Prepared(scope, items, [known.get((m.key, m.value)) for m in items], dedup="none")
        container = _insert_container(srv, parent, f"Claimed cache {short}", None)
        srv.engine_for(container.id).commit(prepared, admit=quota_guard(srv, caller))
        _, raw = mint_key(
            srv.store,
            container.id,
            scopes=READ,
            now=now,
            name=f"cache-claim/{short}",
            issued_to=f"cache-claim/{short}",
            parent_key_id=caller.key.id,
        )
    return Claim(container, scope, len(items), raw)


def cache_lock(cache_id: str) -> str:
    """The lock that orders a cache's entry writes and its claim."""
    return f"cache:{cache_id}"


def _cache_memories(entries: list[CacheEntry]) -> list[NewMemory]:
    return [NewMemory(e.value, key=e.key, importance=0.5) for e in entries]


def set_cache_entry(srv: ServerState, cache: Cache, key: str, value: str) -> CacheEntry:
    """Upsert an entry of an open cache, within its entry cap.

    Raises:
        Unauthorized: the cache was claimed or expired since the token was checked.
        CacheEntryLimit: ``key`` is new and the cache is full.
    """
    limit, now = srv.server.cache_max_entries, srv.now()
    with srv.store.atomic():
        srv.store.lock(cache_lock(cache.id))
        current = srv.store.get_cache(cache.id)
        if current is None or current.claimed_at is not None:
            raise Unauthorized("Cache has been claimed")
        if current.expires_at < now:
            raise Unauthorized("Cache expired")
        entry = srv.store.set_entry(cache.id, key, value, now=now, max_entries=limit)
    if entry is None:
        raise CacheEntryLimit(f"Cache entry limit reached ({limit} max)")
    return entry


# -- sign-in by emailed code (spec §11, limits §10.4) ---------------------------------------------------
def _retry(oldest: int, window: int, now: int) -> int:
    return max(1, -(-(oldest + window - now) // 1000))


def request_code(srv: ServerState, email: str, ip: str) -> None:
    """Store a new 6-digit code for ``email`` within the per-IP and per-email limits, then send it.

    Raises:
        RateLimited: too many codes requested from ``ip`` or for ``email`` in the last hour.
        InternalError: the code could not be emailed.
        InvalidRequest: ``email`` is a container's internal address.
    """
    _refuse_container_address(email)
    conf, now = srv.server, srv.now()
    code = str(100_000 + secrets.randbelow(900_000))
    with srv.store.atomic():
        # Always in this order (address, then email), so two requests never wait on each other.
        srv.store.lock(f"sign-in-from:{ip}")
        srv.store.lock(sign_in_lock(email))
        if ip != "unknown":
            by_ip = srv.store.codes_since(since=now - HOUR_MS, ip_address=ip)
            if len(by_ip) >= conf.codes_per_ip_per_hour:
                raise RateLimited(
                    "Too many code requests from this network. Try again later.",
                    retry_after=_retry(by_ip[-conf.codes_per_ip_per_hour], HOUR_MS, now),
                )
        by_email = srv.store.codes_since(since=now - HOUR_MS, email=email)
        if len(by_email) >= conf.codes_per_email_per_hour:
            raise RateLimited(
                "Too many code requests. Try again in an hour.",
                retry_after=_retry(by_email[-conf.codes_per_email_per_hour], HOUR_MS, now),
            )
        srv.store.add_code(
            email=email,
            code_hash=code_digest(srv.secret, email, code),
            ip_address=ip,
            now=now,
            expires_at=now + conf.code_ttl_s * 1000,
        )
    send_code(conf, email, code, home=srv.settings.home)


def _refuse_container_address(email: str) -> None:
    """Containers have no mailbox and sign in only through keys their parent mints (spec §10.1)."""
    if email.endswith("@" + CONTAINER_EMAIL_DOMAIN):
        raise InvalidRequest(
            "This address belongs to a container; containers sign in with keys minted by their parent account.",
            details=[{"code": "custom", "path": ["email"], "message": "Reserved for containers"}],
        )


def sign_in_lock(email: str) -> str:
    """The lock of an email's codes and wrong guesses."""
    return f"sign-in:{email}"


@dataclass(frozen=True)
class SignIn:
    account: Account
    api_key: str
    is_new_account: bool


def verify_code(srv: ServerState, email: str, code: str, issued_to: str, *, expires_at: int | None = None) -> SignIn:
    """Exchange the latest code of ``email`` for a new full-scope key, creating the account if needed.

    The key expires at ``expires_at`` when given (the dashboard's session keys do).

    Wrong guesses count per email (not per code), and the one that reaches ``code_max_attempts``
    locks the email for ``code_lock_s``, new codes or not; guesses are counted one at a time, so
    concurrent guesses never get more tries.

    Raises:
        InvalidCode: no live code, or the wrong one (counted towards the lock).
        RateLimited: too many wrong guesses; locked until the time in ``details``.
        InvalidRequest: ``email`` is a container's internal address.
    """
    _refuse_container_address(email)
    now = srv.now()
    with srv.store.atomic():
        srv.store.lock(sign_in_lock(email))
        failures = srv.store.sign_in_failures(email)
        if failures is not None and failures.locked_until is not None and failures.locked_until > now:
            raise RateLimited(
                "Too many attempts. Try again later.",
                retry_after=max(1, -(-(failures.locked_until - now) // 1000)),
                details={"locked_until": iso_ms(failures.locked_until)},
            )
        found = srv.store.latest_code(email, now=now)
        if found is None:
            raise InvalidCode(INVALID_CODE)
        right = hmac.compare_digest(code_digest(srv.secret, email, code), found.code_hash)
        if right and srv.store.use_code(found.id, now=now):
            srv.store.clear_sign_in_failures(email)
            return _sign_in(srv, email, issued_to, now, expires_at)
        srv.store.set_sign_in_failures(_one_more_failure(srv, email, failures, now))
    # Raised after the block so the counted wrong guess commits.
    raise InvalidCode(INVALID_CODE)


def _one_more_failure(srv: ServerState, email: str, failures: SignInFailures | None, now: int) -> SignInFailures:
    """The failures of ``email`` with one more wrong guess; counting restarts after a lock or a quiet window."""
    conf, window = srv.server, srv.server.code_lock_s * 1000
    stale = failures is None or failures.locked_until is not None or failures.first_at + window <= now
    count, first = (1, now) if stale or failures is None else (failures.count + 1, failures.first_at)
    locked = now + window if count >= conf.code_max_attempts else None
    return SignInFailures(email, count, first, locked)


def _sign_in(srv: ServerState, email: str, issued_to: str, now: int, expires_at: int | None) -> SignIn:
    account = srv.store.account_by_email(email)
    is_new = account is None
    if account is None:
        plan = srv.server.plans[srv.server.default_plan]
        account = srv.store.create_account(
            email,
            plan_tier=plan.name,
            memory_limit=plan.memory_limit,
            monthly_api_call_limit=plan.monthly_api_calls,
            now=now,
        )
    _, raw = mint_key(
        srv.store, account.id, scopes=FULL_SCOPES, now=now, name=issued_to, issued_to=issued_to, expires_at=expires_at
    )
    return SignIn(account, raw, is_new)
