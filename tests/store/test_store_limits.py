"""Limits hold when threads and processes race, each through its own backend.

A rule that counts and then writes holds its limit under :meth:`AccountStore.lock`; the store
methods that check and write at once (``meter``, ``take_daily_call``, ``take_operation_call``, ``set_entry``'s cap,
``mark_claimed``, ``use_code``) hold theirs by themselves. Not one attempt more succeeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from store_limits_writer import ANSWERS, CALLS, CONTAINERS, DAILY, ENTRIES, PARENT_EMAIL, prepare, race
from store_support import DatabaseUnderTest

from memorylayer.store import Backend

RACER = Path(__file__).with_name("store_limits_writer.py")
EXPECTED = {
    "containers": CONTAINERS,
    "calls": CALLS,
    "daily": DAILY,
    "entries": ENTRIES,
    "claims": 1,
    "codes": 1,
    "reservations": 1,
    "answers": ANSWERS,
}


def _assert_limits_held(backend: Backend, won: Counter[str]) -> None:
    assert dict(won) == EXPECTED
    parent = backend.accounts.account_by_email(PARENT_EMAIL)
    assert parent is not None
    assert len(backend.accounts.containers(parent.id)) == CONTAINERS
    assert parent.api_calls_this_period == CALLS
    assert backend.accounts.daily_calls("race-key", "2026-01-01") == DAILY
    assert len(backend.accounts.list_entries("race-cache")) == ENTRIES
    key_id = backend.accounts.list_keys(parent.id)[0].id
    assert backend.accounts.operation_calls(key_id, "2026-01") == {"answer": ANSWERS}


def test_threads_each_with_its_own_backend_never_pass_a_limit(backend: Backend, database: DatabaseUnderTest) -> None:
    prepare(backend)
    won: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(name: str) -> None:
        own = database.open()
        try:
            result = race(own, name, 8)
            with lock:
                won.update(result)
        except BaseException as exc:  # a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and not any(t.is_alive() for t in threads)
    _assert_limits_held(backend, won)


def test_processes_never_pass_a_limit(backend: Backend, database: DatabaseUnderTest) -> None:
    prepare(backend)
    racers = [
        subprocess.Popen(
            [sys.executable, str(RACER), database.url, f"p{i}", "8"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    won: Counter[str] = Counter()
    try:
        for racer in racers:
            out, err = racer.communicate(timeout=120)
            assert racer.returncode == 0, err
            won.update(json.loads(out))
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.communicate()
    _assert_limits_held(backend, won)
