"""The session and usage stores behind the dashboard: sessions by token hash with expiry, daily counts."""

from __future__ import annotations

import pytest

from memorylayer.errors import Conflict
from memorylayer.store import Backend
from memorylayer.store.accounts import AccountStore
from memorylayer.store.sessions import Session, SessionStore
from memorylayer.store.usage import DailyUsage, UsageStore


@pytest.fixture
def sessions(backend: Backend) -> SessionStore:
    return backend.sessions


@pytest.fixture
def usage(backend: Backend) -> UsageStore:
    return backend.usage


def _owner(accounts: AccountStore, email: str = "ada@example.com") -> tuple[str, str]:
    account = accounts.create_account(email, plan_tier="free", memory_limit=10, monthly_api_call_limit=10, now=1)
    key = accounts.create_key(account.id, key_hash=f"key-{email}", key_prefix="wm_live_abc", scopes="x", now=1)
    return account.id, key.id


def _session(sessions: SessionStore, account: str, key: str, token: str = "t1", **extra: int) -> Session:
    times = {"now": 1_000, "expires_at": 5_000, **extra}
    return sessions.create_session(
        token_hash=token, account_id=account, key_id=key, csrf_token=f"csrf-{token}", user_agent="Chromium", **times
    )


def test_a_session_is_found_by_its_token_hash_only(sessions: SessionStore, accounts: AccountStore) -> None:
    account, key = _owner(accounts)
    made = _session(sessions, account, key)
    assert made == Session("t1", account, key, "csrf-t1", 1_000, 5_000, 1_000, "Chromium")
    assert sessions.session_by_token("t1") == made
    assert sessions.session_by_token("t2") is None


def test_a_second_session_with_the_same_token_hash_conflicts(sessions: SessionStore, accounts: AccountStore) -> None:
    account, key = _owner(accounts)
    _session(sessions, account, key)
    with pytest.raises(Conflict):
        _session(sessions, account, key)


def test_touching_a_session_moves_only_its_last_seen_time(sessions: SessionStore, accounts: AccountStore) -> None:
    account, key = _owner(accounts)
    made = _session(sessions, account, key)
    sessions.touch_session("t1", now=2_500)
    assert sessions.session_by_token("t1") == Session(**{**made.__dict__, "last_seen_at": 2_500})


def test_deleting_sessions_one_by_one_or_every_expired_one(sessions: SessionStore, accounts: AccountStore) -> None:
    account, key = _owner(accounts)
    for token, expires in (("old", 2_000), ("edge", 3_000), ("live", 9_000)):
        _session(sessions, account, key, token, expires_at=expires)
    assert sessions.delete_expired_sessions(now=3_000) == 2
    assert [s.token_hash for s in sessions.account_sessions(account)] == ["live"]
    assert sessions.delete_session("live") is True and sessions.delete_session("live") is False


def test_an_accounts_sessions_are_newest_first_and_go_with_the_account(
    sessions: SessionStore, accounts: AccountStore
) -> None:
    account, key = _owner(accounts)
    other, other_key = _owner(accounts, "bob@example.com")
    _session(sessions, account, key, "first", now=1_000)
    _session(sessions, account, key, "second", now=2_000)
    _session(sessions, other, other_key, "bobs")
    assert [s.token_hash for s in sessions.account_sessions(account)] == ["second", "first"]
    accounts.delete_account(account)
    assert sessions.session_by_token("first") is None and sessions.session_by_token("bobs") is not None


def test_usage_adds_up_per_account_and_day_and_sums_accounts(usage: UsageStore, accounts: AccountStore) -> None:
    parent, _ = _owner(accounts)
    child, _ = _owner(accounts, "child@example.com")
    usage.count_usage(parent, "2026-03-01", api_calls=1)
    usage.count_usage(parent, "2026-03-01", api_calls=1, mcp_calls=1)
    usage.count_usage(child, "2026-03-01", mcp_calls=3)
    usage.count_usage(parent, "2026-03-03", api_calls=5)
    usage.count_usage(parent, "2026-02-28", api_calls=7)
    assert usage.daily_usage([parent, child], "2026-03-01") == [
        DailyUsage("2026-03-01", 2, 4),
        DailyUsage("2026-03-03", 5, 0),
    ]
    assert usage.daily_usage([child], "2026-01-01") == [DailyUsage("2026-03-01", 0, 3)]
    assert usage.daily_usage([], "2026-01-01") == []


def test_usage_counts_roll_back_with_the_transaction_they_are_in(
    backend: Backend, usage: UsageStore, accounts: AccountStore
) -> None:
    account, _ = _owner(accounts)
    with pytest.raises(RuntimeError), backend.transaction():
        usage.count_usage(account, "2026-03-01", api_calls=1)
        raise RuntimeError("the metered call failed")
    assert usage.daily_usage([account], "2026-01-01") == []
