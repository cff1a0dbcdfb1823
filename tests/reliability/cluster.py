"""Replicas of the real server on one database, and the racing clients of the reliability suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPLICA = Path(__file__).with_name("replica.py")
#: How long a replica may take to start (imports, migrations) on a busy 2-core machine.
START_S = 120


@dataclass
class Replica:
    """A server process on the shared home; ``url`` once it listens."""

    home: Path
    index: int
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        port_file = self.home.parent / f"replica-{self.index}.port"
        port_file.unlink(missing_ok=True)
        env = {**os.environ, "MEMORYLAYER_HOME": str(self.home), **self.env}
        self.process = subprocess.Popen(
            [sys.executable, str(REPLICA), str(self.home), str(port_file)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_S
        while not port_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"replica {self.index} exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"replica {self.index} did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port_file.read_text(encoding='utf-8')}"

    def kill(self) -> None:
        """``kill -9``: no shutdown handler, no flush, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_pipes()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self._close_pipes()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def replicas(home: Path, count: int, env: dict[str, str] | None = None) -> Iterator[list[Replica]]:
    """``count`` server processes on ``home``'s database, started together and stopped afterwards."""
    started = [Replica(home, i, env=env or {}) for i in range(count)]
    try:
        errors: list[BaseException] = []

        def guarded(replica: Replica) -> None:
            try:
                replica.start()
            except BaseException as exc:  # reported below, with the others
                errors.append(exc)

        threads = [threading.Thread(target=guarded, args=(r,)) for r in started]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=START_S + 10)
        assert not errors, errors
        yield started
    finally:
        for replica in started:
            replica.stop()


def race(urls: Sequence[str], calls: Sequence[Callable[[httpx.Client], Any]]) -> list[Any]:
    """Run every call at once, one thread each, spread over ``urls``; their results in order.

    A barrier releases all threads together so the requests really overlap. The threads of one URL
    share one client (httpx clients are thread-safe) with a connection for each of them.
    """
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls), timeout=60)
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    clients = [httpx.Client(base_url=url, timeout=120, limits=limits) for url in urls]

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i](clients[i % len(clients)])
        except BaseException as exc:  # a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    finally:
        for client in clients:
            client.close()
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)
    return results
