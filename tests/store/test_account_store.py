"""The account store: accounts and containers, keys, plans, metering, caches, sign-in codes, idempotency,
MCP daily calls."""

from __future__ import annotations

from typing import Any

import pytest

from memorylayer.errors import Conflict, InternalError
from memorylayer.store import Backend
from memorylayer.store.accounts import Account, AccountStore, ApiKey, CacheEntry, IdempotencyRecord, SignInFailures

HOUR = 3_600_000


def _account(accounts: AccountStore, email: str = "ada@example.com", *, now: int = 1_000, **extra: Any) -> Account:
    return accounts.create_account(
        email,
        plan_tier="free",
        memory_limit=1_000,
        monthly_api_call_limit=500,
        now=now,
        **extra,
    )


def _key(
    accounts: AccountStore, account_id: str, key_hash: str = "hash-1", *, now: int = 2_000, **extra: Any
) -> ApiKey:
    return accounts.create_key(
        account_id,
        key_hash=key_hash,
        key_prefix="wm_live_abc",
        scopes="memory:read",
        now=now,
        **extra,
    )


def _cache(accounts: AccountStore, cache_id: str = "cache-1", *, ip: str = "10.0.0.1", now: int = 1_000) -> str:
    accounts.create_cache(
        cache_id=cache_id,
        token_hash=f"token-{cache_id}",
        claim_token_hash=f"claim-{cache_id}",
        ip_address=ip,
        ttl_seconds=3_600,
        now=now,
    )
    return cache_id


# -- locks ------------------------------------------------------------------------------------------------
def test_a_lock_is_taken_inside_a_transaction_and_refused_outside(backend: Backend) -> None:
    with backend.accounts.atomic():
        backend.accounts.lock("account:a")
        backend.accounts.lock("account:a")  # again in the same transaction: already held
        backend.accounts.lock("caches-from:10.0.0.1")
    with backend.transaction():
        backend.accounts.lock("account:a")  # the backend's transaction is the account store's
    with pytest.raises(InternalError):
        backend.accounts.lock("account:a")


# -- accounts and containers --------------------------------------------------------------------------
def test_a_new_account_starts_active_with_an_empty_period(accounts: AccountStore) -> None:
    account = _account(accounts, metadata={"team": "é"}, now=5_000)
    assert account == Account(
        id=account.id,
        email="ada@example.com",
        plan_tier="free",
        plan_status="active",
        memory_limit=1_000,
        monthly_api_call_limit=500,
        api_calls_this_period=0,
        current_period_start=5_000,
        created_at=5_000,
        metadata={"team": "é"},
    )
    assert not account.is_container
    assert accounts.get_account(account.id) == account
    assert accounts.account_by_email("ada@example.com") == account
    assert accounts.get_account("nobody") is None and accounts.account_by_email("x@example.com") is None


def test_list_accounts_is_oldest_first(accounts: AccountStore) -> None:
    late = _account(accounts, "late@example.com", now=3_000)
    early = _account(accounts, "early@example.com", now=1_000)
    assert [a.id for a in accounts.list_accounts()] == [early.id, late.id]


def test_an_email_belongs_to_one_account(accounts: AccountStore) -> None:
    first = _account(accounts)
    with pytest.raises(Conflict):
        _account(accounts)
    assert accounts.list_accounts() == [first]


def test_containers_belong_to_their_parent_and_are_found_by_name(accounts: AccountStore) -> None:
    parent, other = _account(accounts), _account(accounts, "other@example.com")
    second = _account(accounts, "c2@sub", parent_account_id=parent.id, name="beta", now=2_000)
    first = _account(accounts, "c1@sub", parent_account_id=parent.id, name="alpha", metadata={"k": 1}, now=1_500)
    theirs = _account(accounts, "c3@sub", parent_account_id=other.id, name="alpha")
    assert first.is_container and first.parent_account_id == parent.id and first.name == "alpha"
    assert accounts.containers(parent.id) == [first, second]
    assert accounts.container_by_name(parent.id, "alpha") == first
    assert accounts.container_by_name(other.id, "alpha") == theirs
    assert accounts.container_by_name(parent.id, "gamma") is None
    assert accounts.containers(first.id) == []


def test_a_container_name_is_unique_among_its_parents_containers(accounts: AccountStore) -> None:
    parent = _account(accounts)
    _account(accounts, "c1@sub", parent_account_id=parent.id, name="alpha")
    with pytest.raises(Conflict):
        _account(accounts, "c2@sub", parent_account_id=parent.id, name="alpha")
    assert len(accounts.containers(parent.id)) == 1


def test_deleting_an_account_cascades_to_its_containers_keys_and_idempotency_records(accounts: AccountStore) -> None:
    parent, bystander = _account(accounts), _account(accounts, "bystander@example.com")
    container = _account(accounts, "c1@sub", parent_account_id=parent.id, name="alpha")
    parent_key, container_key = _key(accounts, parent.id, "h1"), _key(accounts, container.id, "h2")
    kept_key = _key(accounts, bystander.id, "h3")
    accounts.reserve_idempotency(IdempotencyRecord(parent.id, "idem", "print", "token", 1))
    assert accounts.delete_account(parent.id)
    assert accounts.get_account(parent.id) is None and accounts.get_account(container.id) is None
    assert accounts.get_key(parent_key.id) is None and accounts.get_key(container_key.id) is None
    assert accounts.key_by_hash("h1") is None
    assert accounts.idempotency_record(parent.id, "idem") is None
    assert accounts.get_key(kept_key.id) == kept_key
    assert not accounts.delete_account(parent.id)


def test_deleting_a_container_leaves_its_parent(accounts: AccountStore) -> None:
    parent = _account(accounts)
    container = _account(accounts, "c1@sub", parent_account_id=parent.id, name="alpha")
    assert accounts.delete_account(container.id)
    assert accounts.get_account(parent.id) == parent
    assert accounts.containers(parent.id) == []


def test_set_plan_changes_the_tier_and_limits(accounts: AccountStore) -> None:
    account = _account(accounts)
    updated = accounts.set_plan(account.id, plan_tier="pro", memory_limit=50_000, monthly_api_call_limit=90_000)
    assert updated is not None
    assert (updated.plan_tier, updated.memory_limit, updated.monthly_api_call_limit) == ("pro", 50_000, 90_000)
    assert accounts.get_account(account.id) == updated
    assert accounts.set_plan("nobody", plan_tier="pro", memory_limit=1, monthly_api_call_limit=1) is None


def test_the_extraction_prompt_can_be_set_and_reset(accounts: AccountStore) -> None:
    account = _account(accounts)
    accounts.set_extraction_prompt(account.id, "Only facts about travel.")
    assert accounts.get_account(account.id).extraction_prompt == "Only facts about travel."
    accounts.set_extraction_prompt(account.id, None)
    assert accounts.get_account(account.id).extraction_prompt is None


def test_the_meter_counts_calls_up_to_the_limit_and_refuses_without_counting(accounts: AccountStore) -> None:
    account = _account(accounts, now=1_000)
    results = [accounts.meter(account.id, now=2_000 + i, window_ms=HOUR, limit=3) for i in range(5)]
    assert [(r.allowed, r.count, r.period_start) for r in results] == [
        (True, 1, 1_000),
        (True, 2, 1_000),
        (True, 3, 1_000),
        (False, 3, 1_000),
        (False, 3, 1_000),
    ]
    assert accounts.get_account(account.id).api_calls_this_period == 3


def test_the_meter_starts_a_new_period_when_the_window_has_passed(accounts: AccountStore) -> None:
    account = _account(accounts, now=1_000)
    for _ in range(3):
        accounts.meter(account.id, now=2_000, window_ms=HOUR, limit=3)
    assert not accounts.meter(account.id, now=1_000 + HOUR - 1, window_ms=HOUR, limit=3).allowed
    fresh = accounts.meter(account.id, now=1_000 + HOUR, window_ms=HOUR, limit=3)
    assert (fresh.allowed, fresh.count, fresh.period_start) == (True, 1, 1_000 + HOUR)
    stored = accounts.get_account(account.id)
    assert stored is not None and (stored.api_calls_this_period, stored.current_period_start) == (1, 1_000 + HOUR)


# -- keys -----------------------------------------------------------------------------------------------
def test_a_key_is_found_by_its_hash_and_never_exposes_it(accounts: AccountStore) -> None:
    account = _account(accounts)
    key = _key(accounts, account.id, "secret-hash", name="laptop", issued_to="cli", expires_at=9_000)
    assert key == ApiKey(
        id=key.id,
        account_id=account.id,
        key_prefix="wm_live_abc",
        scopes="memory:read",
        created_at=2_000,
        name="laptop",
        issued_to="cli",
        expires_at=9_000,
    )
    assert accounts.key_by_hash("secret-hash") == key
    assert accounts.get_key(key.id) == key
    assert accounts.key_by_hash("other-hash") is None and accounts.get_key("nope") is None
    assert "secret-hash" not in repr(key)


def test_a_child_key_records_its_parent_and_keys_list_oldest_first(accounts: AccountStore) -> None:
    account = _account(accounts)
    parent = _key(accounts, account.id, "h1")
    child = _key(accounts, account.id, "h2", now=3_000, parent_key_id=parent.id)
    assert child.parent_key_id == parent.id
    assert accounts.list_keys(account.id) == [parent, child]
    assert accounts.list_keys("nobody") == []


def test_a_revoked_key_no_longer_authenticates_and_revoking_twice_reports_false(accounts: AccountStore) -> None:
    account = _account(accounts)
    key = _key(accounts, account.id)
    assert accounts.revoke_key(key.id, now=3_000)
    assert not accounts.revoke_key(key.id, now=4_000)
    assert accounts.key_by_hash("hash-1") is None
    assert accounts.get_key(key.id).revoked_at == 3_000
    assert not accounts.revoke_key("nope", now=3_000)


def test_touching_a_key_records_its_last_use(accounts: AccountStore) -> None:
    account = _account(accounts)
    key = _key(accounts, account.id)
    accounts.touch_key(key.id, now=7_000)
    assert accounts.get_key(key.id).last_used_at == 7_000


def test_active_keys_are_the_unrevoked_ones_expired_included(accounts: AccountStore) -> None:
    account, other = _account(accounts), _account(accounts, "other@example.com")
    _key(accounts, account.id, "h1")
    _key(accounts, account.id, "h2", expires_at=1)
    accounts.revoke_key(_key(accounts, account.id, "h3").id, now=3_000)
    _key(accounts, other.id, "h4")
    assert accounts.count_active_keys(account.id) == 2
    assert accounts.count_active_keys("nobody") == 0


# -- caches ---------------------------------------------------------------------------------------------
def test_a_cache_is_found_by_either_token_and_expires_after_its_ttl(accounts: AccountStore) -> None:
    _cache(accounts, "c1", now=10_000)
    cache = accounts.cache_by_token("token-c1")
    assert cache is not None and cache == accounts.cache_by_claim_token("claim-c1")
    assert (cache.id, cache.ip_address, cache.ttl_seconds, cache.expires_at, cache.created_at) == (
        "c1",
        "10.0.0.1",
        3_600,
        10_000 + 3_600_000,
        10_000,
    )
    assert cache.claimed_by_account_id is None and cache.claimed_at is None
    assert accounts.cache_by_token("claim-c1") is None and accounts.cache_by_claim_token("token-c1") is None


def test_caches_created_since_are_per_address_after_the_instant_oldest_first(accounts: AccountStore) -> None:
    _cache(accounts, "c3", now=3_000)
    _cache(accounts, "c1", now=1_000)
    _cache(accounts, "c2", now=2_000)
    _cache(accounts, "c4", ip="10.0.0.2", now=2_500)
    assert accounts.caches_created_since("10.0.0.1", 1_000) == [2_000, 3_000]
    assert accounts.caches_created_since("10.0.0.1", 0) == [1_000, 2_000, 3_000]
    assert accounts.caches_created_since("10.9.9.9", 0) == []


def test_cache_entries_upsert_keep_their_creation_time_and_list_by_key(accounts: AccountStore) -> None:
    cache = _cache(accounts)
    assert accounts.set_entry(cache, "b", "one", now=1_000, max_entries=10) == CacheEntry("b", "one", 1_000, 1_000)
    assert accounts.set_entry(cache, "b", "two", now=2_000, max_entries=10) == CacheEntry("b", "two", 1_000, 2_000)
    accounts.set_entry(cache, "a", "first", now=3_000, max_entries=10)
    assert [e.key for e in accounts.list_entries(cache)] == ["a", "b"]
    assert accounts.get_entry(cache, "b") == CacheEntry("b", "two", 1_000, 2_000)
    assert accounts.get_entry(cache, "zzz") is None
    assert accounts.delete_entry(cache, "b") and not accounts.delete_entry(cache, "b")
    assert accounts.list_entries(cache) == [CacheEntry("a", "first", 3_000, 3_000)]


def test_a_full_cache_refuses_new_keys_but_updates_existing_ones(accounts: AccountStore) -> None:
    cache, other = _cache(accounts, "c1"), _cache(accounts, "c2")
    for i in range(3):
        assert accounts.set_entry(cache, f"k{i}", "v", now=1_000, max_entries=3) is not None
    assert accounts.set_entry(cache, "k9", "v", now=2_000, max_entries=3) is None
    assert accounts.set_entry(cache, "k0", "changed", now=2_000, max_entries=3) == CacheEntry(
        "k0", "changed", 1_000, 2_000
    )
    assert len(accounts.list_entries(cache)) == 3
    assert accounts.set_entry(other, "k9", "v", now=2_000, max_entries=3) is not None


def test_a_cache_is_found_by_its_id(accounts: AccountStore) -> None:
    _cache(accounts, "c1", now=10_000)
    assert accounts.get_cache("c1") == accounts.cache_by_token("token-c1")
    assert accounts.get_cache("unknown") is None


def test_a_cache_can_be_claimed_once(accounts: AccountStore) -> None:
    first, second = _account(accounts), _account(accounts, "second@example.com")
    cache = _cache(accounts)
    assert accounts.mark_claimed(cache, first.id, now=5_000)
    assert not accounts.mark_claimed(cache, second.id, now=6_000)
    claimed = accounts.cache_by_token("token-cache-1")
    assert claimed is not None and (claimed.claimed_by_account_id, claimed.claimed_at) == (first.id, 5_000)


def test_a_cache_stays_claimed_when_the_claiming_account_is_deleted(accounts: AccountStore) -> None:
    claimer = _account(accounts)
    cache = _cache(accounts)
    accounts.set_entry(cache, "k", "v", now=1_000, max_entries=3)
    accounts.mark_claimed(cache, claimer.id, now=5_000)
    accounts.delete_account(claimer.id)
    claimed = accounts.cache_by_token("token-cache-1")
    assert claimed is not None and claimed.claimed_at == 5_000 and claimed.claimed_by_account_id is None
    assert not accounts.mark_claimed(cache, claimer.id, now=6_000)


# -- sign-in codes ------------------------------------------------------------------------------------
def _code(accounts: AccountStore, email: str = "ada@example.com", *, now: int, ip: str | None = "10.0.0.1") -> str:
    return accounts.add_code(email=email, code_hash=f"code-{now}", ip_address=ip, now=now, expires_at=now + 600_000).id


def test_codes_since_count_per_email_or_per_address_after_the_instant(accounts: AccountStore) -> None:
    _code(accounts, now=1_000)
    _code(accounts, now=2_000, ip="10.0.0.2")
    _code(accounts, "bob@example.com", now=3_000)
    _code(accounts, "bob@example.com", now=4_000, ip=None)
    assert accounts.codes_since(since=1_000, email="ada@example.com") == [2_000]
    assert accounts.codes_since(since=0, email="ada@example.com") == [1_000, 2_000]
    assert accounts.codes_since(since=0, ip_address="10.0.0.1") == [1_000, 3_000]
    assert accounts.codes_since(since=0, email="nobody@example.com") == []


def test_the_latest_code_is_the_newest_unused_unexpired_one(accounts: AccountStore) -> None:
    _code(accounts, now=1_000)
    newest = _code(accounts, now=2_000)
    _code(accounts, "bob@example.com", now=3_000)
    latest = accounts.latest_code("ada@example.com", now=2_500)
    assert latest is not None and latest.id == newest
    assert (latest.code_hash, latest.used_at, latest.ip_address) == ("code-2000", None, "10.0.0.1")
    assert accounts.latest_code("ada@example.com", now=2_000 + 600_000) is None  # expired
    assert accounts.use_code(newest, now=2_600)
    assert accounts.latest_code("ada@example.com", now=2_700).code_hash == "code-1000"


def test_a_code_is_used_once(accounts: AccountStore) -> None:
    code = _code(accounts, now=1_000)
    assert accounts.use_code(code, now=1_500)
    assert not accounts.use_code(code, now=1_600)
    assert not accounts.use_code("unknown", now=1_600)


def test_wrong_guesses_are_kept_per_email_replaced_and_cleared(accounts: AccountStore) -> None:
    assert accounts.sign_in_failures("ada@example.com") is None
    accounts.set_sign_in_failures(SignInFailures("ada@example.com", 1, 1_000))
    accounts.set_sign_in_failures(SignInFailures("ada@example.com", 5, 1_000, locked_until=90_000))
    accounts.set_sign_in_failures(SignInFailures("bob@example.com", 2, 3_000))
    assert accounts.sign_in_failures("ada@example.com") == SignInFailures("ada@example.com", 5, 1_000, 90_000)
    _code(accounts, now=2_000)  # a new code changes nothing about the email's failures
    assert accounts.sign_in_failures("ada@example.com") == SignInFailures("ada@example.com", 5, 1_000, 90_000)
    accounts.clear_sign_in_failures("ada@example.com")
    assert accounts.sign_in_failures("ada@example.com") is None
    assert accounts.sign_in_failures("bob@example.com") == SignInFailures("bob@example.com", 2, 3_000)


# -- idempotency and MCP daily calls ------------------------------------------------------------------
def test_an_idempotency_reservation_is_finished_once_by_its_holder_per_account(accounts: AccountStore) -> None:
    account, other = _account(accounts), _account(accounts, "other@example.com")
    assert accounts.idempotency_record(account.id, "req-1") is None
    accounts.reserve_idempotency(IdempotencyRecord(account.id, "req-1", "print-a", "tok-1", 1_000))
    pending = accounts.idempotency_record(account.id, "req-1")
    assert pending == IdempotencyRecord(account.id, "req-1", "print-a", "tok-1", 1_000)
    assert not pending.done
    assert not accounts.finish_idempotency(account.id, "req-1", "tok-other", status=200, response="{}", now=2_000)
    assert accounts.finish_idempotency(account.id, "req-1", "tok-1", status=200, response='{"a":1}', now=2_000)
    assert not accounts.finish_idempotency(account.id, "req-1", "tok-1", status=201, response="{}", now=3_000)
    done = accounts.idempotency_record(account.id, "req-1")
    assert done is not None and done.done
    assert (done.status, done.response, done.finished_at) == (200, '{"a":1}', 2_000)
    accounts.release_idempotency(account.id, "req-1", "tok-1")  # a finished answer is never released
    assert accounts.idempotency_record(account.id, "req-1") == done
    assert accounts.idempotency_record(other.id, "req-1") is None


def test_an_idempotency_reservation_is_released_or_replaced_by_a_new_one(accounts: AccountStore) -> None:
    account = _account(accounts)
    accounts.reserve_idempotency(IdempotencyRecord(account.id, "k", "print-a", "tok-1", 1_000))
    accounts.release_idempotency(account.id, "k", "tok-other")
    assert accounts.idempotency_record(account.id, "k") is not None
    accounts.release_idempotency(account.id, "k", "tok-1")
    assert accounts.idempotency_record(account.id, "k") is None
    accounts.reserve_idempotency(IdempotencyRecord(account.id, "k", "print-a", "tok-2", 2_000))
    accounts.reserve_idempotency(IdempotencyRecord(account.id, "k", "print-b", "tok-3", 3_000))  # a takeover
    taken = accounts.idempotency_record(account.id, "k")
    assert taken == IdempotencyRecord(account.id, "k", "print-b", "tok-3", 3_000)
    assert not accounts.finish_idempotency(account.id, "k", "tok-2", status=200, response="{}", now=4_000)


def test_daily_calls_are_taken_up_to_the_limit_per_key_and_day(accounts: AccountStore) -> None:
    taken = [accounts.take_daily_call("key-1", "2026-01-01", 3) for _ in range(5)]
    assert taken == [1, 2, 3, None, None]
    assert accounts.take_daily_call("key-1", "2026-01-02", 3) == 1
    assert accounts.take_daily_call("key-2", "2026-01-01", 3) == 1
    assert accounts.take_daily_call("key-1", "2026-01-01", 4) == 4
    assert accounts.take_daily_call("key-3", "2026-01-01", 0) is None
