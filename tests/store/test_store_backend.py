"""The backend: opening, transactions spanning memories and accounts, migrations."""

from __future__ import annotations

import re
import threading

import pytest
from store_support import ACCOUNT, MODEL, SCOPE, DatabaseUnderTest, put

from memorylayer.store import Backend, open_backend


def _account(backend: Backend, email: str = "user@example.com") -> str:
    return backend.accounts.create_account(
        email, plan_tier="free", memory_limit=100, monthly_api_call_limit=1_000, now=1_000
    ).id


def test_the_url_a_backend_reports_opens_the_same_database(backend: Backend) -> None:
    _, record = put(backend.memories, "persisted")
    backend.check()
    again = open_backend(backend.url)
    try:
        assert again.memories.get(ACCOUNT, record.id) == record
    finally:
        again.close()


def test_data_outlives_closing_and_reopening(database: DatabaseUnderTest) -> None:
    first = database.open()
    _, record = put(first.memories, "durable")
    account = _account(first)
    first.close()
    second = database.open()
    try:
        assert second.memories.get(ACCOUNT, record.id) == record
        assert second.accounts.get_account(account) is not None
    finally:
        second.close()


# -- transactions --------------------------------------------------------------------------------------
def test_a_rolled_back_transaction_leaves_nothing_behind(backend: Backend) -> None:
    store = backend.memories
    put(store, "before")
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    stats = store.term_stats(["inside"])
    with pytest.raises(RuntimeError), backend.transaction():
        _, record = put(store, "inside the transaction", key="k", scope="new-scope")
        put(store, "inside too")
        account = _account(backend)
        backend.accounts.take_daily_call("key-1", "2026-01-01", 5)
        raise RuntimeError("roll back")
    assert store.get(ACCOUNT, record.id) is None
    assert store.get_by_key(ACCOUNT, "new-scope", "k") is None
    assert not store.scope_exists(ACCOUNT, "new-scope")
    assert store.count_live([ACCOUNT]) == 1
    assert store.vector_changes(ACCOUNT, SCOPE, high, MODEL) == ([], high)
    assert store.term_stats(["inside"]) == stats == (1, {"inside": 0})
    assert backend.accounts.get_account(account) is None
    assert backend.accounts.take_daily_call("key-1", "2026-01-01", 5) == 1


def test_a_memory_write_and_an_account_write_commit_together(backend: Backend, database: DatabaseUnderTest) -> None:
    reader = database.open()
    try:
        with backend.transaction():
            _, record = put(backend.memories, "written with its account")
            account = _account(backend)
            assert reader.memories.get(ACCOUNT, record.id) is None  # nothing shows before the commit
            assert reader.accounts.get_account(account) is None
        assert reader.memories.get(ACCOUNT, record.id) == record
        assert reader.accounts.get_account(account) is not None
    finally:
        reader.close()


def test_a_failure_after_the_account_write_rolls_back_the_memory_write_too(backend: Backend) -> None:
    account = _account(backend)
    with pytest.raises(RuntimeError), backend.transaction():
        backend.accounts.set_plan(account, plan_tier="pro", memory_limit=5_000, monthly_api_call_limit=9)
        _, record = put(backend.memories, "never kept")
        backend.accounts.meter(account, now=2_000, window_ms=60_000, limit=10)
        raise RuntimeError("quota refused")
    after = backend.accounts.get_account(account)
    assert after is not None and (after.plan_tier, after.api_calls_this_period) == ("free", 0)
    assert backend.memories.get(ACCOUNT, record.id) is None


def test_nested_transactions_commit_only_when_the_outermost_ends(backend: Backend, database: DatabaseUnderTest) -> None:
    reader = database.open()
    try:
        with backend.transaction():
            with backend.memories.transaction():
                _, first = put(backend.memories, "inner")
                with backend.accounts.atomic():
                    account = _account(backend)
            assert reader.memories.get(ACCOUNT, first.id) is None
            assert reader.accounts.get_account(account) is None
        assert reader.memories.get(ACCOUNT, first.id) == first
        assert reader.accounts.get_account(account) is not None
    finally:
        reader.close()


def test_an_error_escaping_a_nested_transaction_rolls_back_the_outer_one(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.transaction():
        _, outer = put(backend.memories, "outer")
        with backend.transaction():
            _, inner = put(backend.memories, "inner")
            raise RuntimeError("inner failure")
    assert backend.memories.get(ACCOUNT, outer.id) is None
    assert backend.memories.get(ACCOUNT, inner.id) is None
    with backend.transaction():  # and the next transaction starts cleanly
        _, after = put(backend.memories, "after")
    assert backend.memories.get(ACCOUNT, after.id) == after


def test_a_transaction_holds_only_its_own_threads_writes(backend: Backend) -> None:
    written: dict[str, str] = {}

    def other_thread() -> None:
        written["id"] = put(backend.memories, "from another thread")[1].id

    thread = threading.Thread(target=other_thread)
    with pytest.raises(RuntimeError), backend.transaction():
        _, mine = put(backend.memories, "rolled back")
        thread.start()
        raise RuntimeError("roll back")
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert backend.memories.get(ACCOUNT, mine.id) is None
    assert backend.memories.get(ACCOUNT, written["id"]) is not None


# -- migrations ---------------------------------------------------------------------------------------
def test_opening_a_new_database_applies_named_migrations_once_each(
    backend: Backend, database: DatabaseUnderTest
) -> None:
    applied = database.applied_migrations()
    assert applied, "a new database records its migrations"
    assert len(applied) == len(set(applied))
    assert all(re.fullmatch(r"[a-z]+\d{3}_[a-z0-9_]+", name) for name in applied), applied


def test_reopening_a_database_applies_nothing_and_keeps_its_data(backend: Backend, database: DatabaseUnderTest) -> None:
    before = database.applied_migrations()
    _, record = put(backend.memories, "kept across opens")
    for _ in range(2):
        again = database.open()
        try:
            assert again.memories.get(ACCOUNT, record.id) == record
        finally:
            again.close()
    assert database.applied_migrations() == before
