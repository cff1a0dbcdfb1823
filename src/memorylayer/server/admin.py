"""Operator actions without email: create accounts, set plans, mint and revoke keys.

Used by ``memorylayer admin`` and by tests; every function takes the store and settings directly.
"""

from __future__ import annotations

from ..errors import Conflict, InvalidRequest, NotFound
from ..store.accounts import Account, AccountStore, ApiKey, iter_scopes
from ..types import now_ms
from .auth import ADMIN, CONTAINER_DEFAULT_SCOPES, FULL_SCOPES, mint_key
from .settings import Plan, ServerSettings


def find_account(store: AccountStore, ref: str) -> Account:
    """An account by id or email.

    Raises:
        NotFound: no account has that id or email.
    """
    account = store.get_account(ref) or store.account_by_email(ref.lower())
    if account is None:
        raise NotFound(f"no account with id or email {ref!r}")
    return account


def create_account(store: AccountStore, server: ServerSettings, email: str, *, plan: str | None = None) -> Account:
    """A new top-level account on ``plan`` (default: the configured default plan).

    Raises:
        Conflict: an account with this email exists.
        InvalidRequest: unknown plan.
    """
    email = email.strip().lower()
    if not email or "@" not in email:
        raise InvalidRequest(f"not an email address: {email!r}")
    if store.account_by_email(email) is not None:
        raise Conflict(f"an account with email {email} already exists")
    tier = _plan(server, plan or server.default_plan)
    return store.create_account(
        email,
        plan_tier=tier.name,
        memory_limit=tier.memory_limit,
        monthly_api_call_limit=tier.monthly_api_calls,
        now=now_ms(),
    )


def set_plan(store: AccountStore, server: ServerSettings, ref: str, plan: str) -> Account:
    """Move an account (and its containers) to ``plan``, applying the plan's limits.

    Raises:
        NotFound: unknown account. InvalidRequest: unknown plan.
    """
    tier = _plan(server, plan)
    account = find_account(store, ref)
    targets = [account, *store.containers(account.id)]
    for target in targets:
        store.set_plan(
            target.id,
            plan_tier=tier.name,
            memory_limit=tier.memory_limit,
            monthly_api_call_limit=tier.monthly_api_calls,
        )
    updated = store.get_account(account.id)
    assert updated is not None
    return updated


def create_key(
    store: AccountStore,
    ref: str,
    *,
    scopes: str | None = None,
    name: str | None = None,
    expires_in_s: int | None = None,
) -> tuple[ApiKey, str]:
    """Mint a key for an account or container; returns the record and the raw key (shown once).

    ``scopes`` defaults to every scope for an account and to ``memory:read,memory:write`` for a
    container, which may never hold ``account:admin`` (as ``POST /v1/containers/{id}/keys``).

    Raises:
        NotFound: unknown account. InvalidRequest: empty scopes, ``account:admin`` for a container,
            or a non-positive expiry.
    """
    account = find_account(store, ref)
    if scopes is None:
        scopes = CONTAINER_DEFAULT_SCOPES if account.is_container else FULL_SCOPES
    if not scopes.strip():
        raise InvalidRequest("scopes must not be empty")
    if account.is_container and ADMIN in iter_scopes(scopes):
        raise InvalidRequest("Container keys cannot have account:admin scope")
    if expires_in_s is not None and expires_in_s <= 0:
        raise InvalidRequest("expiry must be a positive number of seconds")
    now = now_ms()
    expires_at = now + expires_in_s * 1000 if expires_in_s else None
    label = name or "Operator-created key"
    return mint_key(store, account.id, scopes=scopes, now=now, name=label, issued_to=label, expires_at=expires_at)


def revoke_key(store: AccountStore, key_id: str) -> ApiKey:
    """Revoke a key by id.

    Raises:
        NotFound: unknown or already revoked key.
    """
    key = store.get_key(key_id)
    if key is None or not store.revoke_key(key_id, now=now_ms()):
        raise NotFound(f"no active key with id {key_id}")
    revoked = store.get_key(key_id)
    assert revoked is not None
    return revoked


def _plan(server: ServerSettings, name: str) -> Plan:
    if name not in server.plans:
        raise InvalidRequest(f"unknown plan {name!r}; configured: {', '.join(server.plans)}")
    return server.plans[name]
