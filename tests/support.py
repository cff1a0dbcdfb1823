"""Helpers that several test folders share (``tests`` is on the import path)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from memorylayer.types import now_ms


@dataclass
class Clock:
    """A server clock the tests can move forward instead of sleeping: real time plus an offset."""

    offset_ms: int = 0

    def __call__(self) -> int:
        return now_ms() + self.offset_ms

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "off", log_level: str = "error") -> Iterator[str]:
    """``app`` behind a real socket (uvicorn in a thread); yields its base URL and stops it afterwards."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan=lifespan, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for_health(port: int, process: subprocess.Popen[bytes], *, log: Path | None = None) -> httpx.Response:
    """The first answer of ``/health`` from a server process starting on ``port`` (fails after 60 s or if it exits)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        except httpx.TransportError:
            said = log.read_text(encoding="utf-8") if log is not None else ""
            assert process.poll() is None, f"the server exited with {process.returncode}: {said}"
            assert time.monotonic() < deadline, f"the server did not answer within 60 s: {said}"
            time.sleep(0.2)


def delivered_code(home: Path, email: str) -> str | None:
    """The latest sign-in code local mode (no SMTP) delivered for ``email``: its file in the home."""
    path = home / "sign-in-codes.txt"
    if not path.exists():
        return None
    codes = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    found = [fields[2] for fields in codes if len(fields) == 3 and fields[1] == email]
    return found[-1] if found else None


def run_sql(database: Any, statement: str) -> None:
    """Run one statement straight on a backend's database (SQLite or PostgreSQL), outside the stores.

    For tests that break the schema on purpose to see how an unexpected failure is reported.
    """
    if hasattr(database, "conn"):  # SQLite: this thread's connection
        database.conn.execute(statement)
    else:  # PostgreSQL
        database.execute(statement)


def sync_frames(blob: bytes) -> tuple[bytes, list[bytes]]:
    """A sync blob split into its prefix (magic, length, header) and its length-prefixed chunks."""
    import struct

    (length,) = struct.unpack(">I", blob[8:12])
    at, frames = 12 + length, []
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at : at + 4])
        frames.append(blob[at : at + 4 + size])
        at += 4 + size
    return blob[: 12 + length], frames
