"""Several threads and several processes, each through its own backend, lose no write."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from store_support import ACCOUNT, SCOPE, DatabaseUnderTest
from store_writer import COUNTER_KEY, DAY, EMAIL, UNLIMITED, write_rounds

from memorylayer.store import Backend
from memorylayer.store.base import ListQuery

WRITER = Path(__file__).with_name("store_writer.py")


def _assert_nothing_lost(backend: Backend, writers: list[str], rounds: int) -> None:
    store = backend.memories
    values = {m.value for m in store.iter_records(ACCOUNT, SCOPE)}
    for name in writers:
        assert {f"writer {name} fact {i}" for i in range(rounds)} <= values
    total = len(writers) * rounds
    assert store.count(ListQuery(account=ACCOUNT, scope=SCOPE)) == total + 1  # the facts and the counter
    counter = store.get_by_key(ACCOUNT, SCOPE, COUNTER_KEY)
    assert counter is not None and int(counter.value) == total
    assert [a.email for a in backend.accounts.list_accounts()] == [EMAIL]
    account = backend.accounts.account_by_email(EMAIL)
    assert account is not None and account.api_calls_this_period == total
    assert backend.accounts.take_daily_call("shared-key", DAY, UNLIMITED) == total + 1


def _run_threads(writers: list[str], target: Callable[[str], None]) -> None:
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            target(name)
        except BaseException as exc:  # a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)


def test_threads_each_with_its_own_backend_lose_nothing(backend: Backend, database: DatabaseUnderTest) -> None:
    writers, rounds = ["t1", "t2", "t3", "t4"], 40

    def write(name: str) -> None:
        own = database.open()
        try:
            write_rounds(own, name, rounds)
        finally:
            own.close()

    _run_threads(writers, write)
    _assert_nothing_lost(backend, writers, rounds)


def test_threads_sharing_one_backend_lose_nothing(backend: Backend) -> None:
    writers, rounds = ["s1", "s2", "s3"], 40
    _run_threads(writers, lambda name: write_rounds(backend, name, rounds))
    _assert_nothing_lost(backend, writers, rounds)


def test_processes_opening_one_new_database_at_once_lose_nothing(database: DatabaseUnderTest) -> None:
    writers, rounds = ["p1", "p2", "p3"], 20
    processes = [
        subprocess.Popen(
            [sys.executable, str(WRITER), database.url, name, str(rounds)], stderr=subprocess.PIPE, text=True
        )
        for name in writers
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    backend = database.open()
    try:
        _assert_nothing_lost(backend, writers, rounds)
    finally:
        backend.close()
    applied = database.applied_migrations()
    assert len(applied) == len(set(applied))
