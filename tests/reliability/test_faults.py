"""Faulty environments: a read-only home, a full disk, a lock held past the timeout, a damaged or foreign file.

Each gives a stable code and a sentence naming the file and what to do: from the CLI as
``[code] message`` with exit status 7 (``--json``: the error object), from the server as a 503
envelope while it stays up, from ``memorylayer mcp`` as a clear exit. Nothing is half-written:
``PRAGMA integrity_check`` passes after every fault that leaves the file intact.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from environments import fill, remount, small_disk
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from memorylayer.cli import app as cli
from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.server import admin, create_app

runner = CliRunner()
BUSY_MS = 300


def memorylayer(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = runner.invoke(cli, [*args, "--home", str(home), "--json"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def _integrity(home: Path) -> str:
    with closing(sqlite3.connect(home / "memory.db")) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _count(home: Path) -> int:
    with closing(sqlite3.connect(f"{(home / 'memory.db').as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])


def _populated(home: Path, memories: int = 3) -> None:
    with Engine.open(home) as engine:
        for i in range(memories):
            engine.add("s", f"fact number {i}", key=f"k{i}")


@contextmanager
def _server(home: Path, **settings: object) -> Iterator[tuple[TestClient, str]]:
    application = create_app(Settings.load(home=home, **settings))
    srv = application.state.server
    account = admin.create_account(srv.store, srv.server, f"faults{os.getpid()}@example.com", plan="pro")
    key = admin.create_key(srv.store, account.id)[1]
    try:
        with TestClient(application, raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {key}"
            yield client, key
    finally:
        srv.engine.close()


def _assert_storage_error(response: object, code: str, path: Path) -> None:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == code and str(path) in error["message"], error
    assert error["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]


# -- a read-only home ------------------------------------------------------------------------------------
@pytest.fixture
def read_only_home(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 16_384) as disk:
        home = disk / "home"
        _populated(home)
        remount(disk, "ro")
        yield home
        remount(disk, "rw")
        assert _integrity(home) == "ok" and _count(home) == 3


@pytest.mark.parametrize("command", [["list"], ["remember", "a new fact", "--key", "k9"], ["import", "-"]])
def test_a_read_only_home_is_storage_read_only_with_exit_7(read_only_home: Path, command: list[str]) -> None:
    code, out = memorylayer(read_only_home, *command)
    assert code == 7, out
    assert out["error"]["code"] == "storage_read_only"
    assert str(read_only_home) in out["error"]["message"] and "writable" in out["error"]["message"]


def test_a_read_only_home_stops_the_server_from_starting_with_a_clear_message(read_only_home: Path) -> None:
    result = runner.invoke(cli, ["serve", "--home", str(read_only_home), "--port", "1"])
    assert result.exit_code == 7
    assert "[storage_read_only]" in result.output and str(read_only_home) in result.output


def test_a_home_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    code, out = memorylayer(blocker / "home", "remember", "x", "--key", "k")
    assert code == 7 and out["error"]["code"].startswith("storage_")
    assert str(blocker / "home") in out["error"]["message"]


# -- a full disk -----------------------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    with small_disk(tmp_path / "disk", 3_072) as disk:
        home = disk / "home"
        _populated(home)
        yield home, disk


def test_a_full_disk_refuses_the_write_and_keeps_the_database_sound(full_disk: tuple[Path, Path]) -> None:
    home, disk = full_disk
    filler = fill(disk)
    for i in range(3):  # the WAL may still have room for a page or two
        code, out = memorylayer(home, "remember", "x" * 4_000 + str(i), "--key", f"big{i}")
        if code:
            break
    assert code == 7 and out["error"]["code"] == "storage_full", out
    assert str(home / "memory.db") in out["error"]["message"] and "Free some space" in out["error"]["message"]
    filler.unlink()
    assert _integrity(home) == "ok"
    code, _ = memorylayer(home, "remember", "after the disk was freed", "--key", "after")
    assert code == 0


def test_a_server_on_a_full_disk_answers_503_and_stays_up(full_disk: tuple[Path, Path]) -> None:
    home, disk = full_disk
    with _server(home) as (client, _):
        assert client.post("/v1/memories", json={"scope": "s", "key": "warm", "value": "v"}).status_code == 200
        filler = fill(disk)
        answers = [
            client.post("/v1/memories", json={"scope": "s", "key": f"big{i}", "value": "x" * 4_000}) for i in range(4)
        ]
        refused = [a for a in answers if a.status_code != 200]
        assert refused, "the disk never filled"
        _assert_storage_error(refused[0], "storage_full", home / "memory.db")
        assert client.get("/health").status_code == 200
        # Every authenticated call is metered, which is a write: reads are refused the same way.
        _assert_storage_error(
            client.post("/v1/memories/get", json={"scope": "s", "key": "warm"}), "storage_full", home / "memory.db"
        )
        r = client.post("/v1/auth/request-code", json={"email": "full@example.com"})
        assert r.status_code == 503 and r.json()["error"]["code"].startswith("storage_")
        filler.unlink()
        assert client.post("/v1/memories", json={"scope": "s", "key": "after", "value": "v"}).status_code == 200
        assert client.post("/v1/memories/get", json={"scope": "s", "key": "warm"}).json()["memory"]["value"] == "v"
    assert _integrity(home) == "ok"


# -- a lock held past the busy timeout --------------------------------------------------------------------
@contextmanager
def _holding_the_write_lock(database: Path) -> Iterator[None]:
    """Another process holds the write lock of ``database`` until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "conn.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield
    finally:
        holder.communicate(timeout=30)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A populated home whose database another process holds the write lock of."""
    home = tmp_path / "home"
    _populated(home)
    with _holding_the_write_lock(home / "memory.db"):
        yield home
    assert _integrity(home) == "ok" and _count(home) == 3


def test_a_lock_held_past_the_timeout_is_storage_busy_from_the_cli(locked: Path) -> None:
    env = {"MEMORYLAYER_BUSY_TIMEOUT_MS": str(BUSY_MS)}
    code, out = memorylayer(locked, "remember", "waits for the lock", "--key", "k9", env=env)
    assert code == 7 and out["error"]["code"] == "storage_busy"
    assert str(locked / "memory.db") in out["error"]["message"] and "0.3 s" in out["error"]["message"]
    code, out = memorylayer(locked, "list", env=env)  # readers are never blocked by a writer (WAL)
    assert code == 0 and len(out["memories"]) == 3


def test_a_lock_held_past_the_timeout_is_a_503_and_the_server_stays_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _server(home, busy_timeout_ms=BUSY_MS) as (client, _):
        assert client.post("/v1/memories", json={"scope": "s", "key": "k1", "value": "v"}).status_code == 200
        with _holding_the_write_lock(home / "memory.db"):
            r = client.post("/v1/memories", json={"scope": "s", "key": "k9", "value": "v"})
            _assert_storage_error(r, "storage_busy", home / "memory.db")
            assert client.get("/health").status_code == 200
        assert client.post("/v1/memories", json={"scope": "s", "key": "k9", "value": "v"}).status_code == 200
        assert len(client.post("/v1/memories/list", json={}).json()["memories"]) == 2
    assert _integrity(home) == "ok"


def test_the_mcp_tools_report_a_busy_database_as_a_tool_error(locked: Path) -> None:
    import anyio
    from mcp import Client as McpClient

    from memorylayer.mcp_server import LocalAccess, build_server

    async def store() -> str:
        with Engine.open(locked, settings=Settings.load(home=locked, busy_timeout_ms=BUSY_MS)) as engine:
            async with McpClient(build_server(LocalAccess(engine))) as client:
                result = await client.call_tool("memory_store", {"content": "blocked", "namespace": "s"})
                assert result.is_error
                return str(result.content[0].text)  # type: ignore[union-attr]

    text = anyio.run(store)
    assert text.startswith("[storage_busy]") and str(locked / "memory.db") in text


# -- a damaged or foreign database file -----------------------------------------------------------------
def _damage_memories_table(home: Path) -> None:
    path = home / "memory.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = [r[0] for r in conn.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'memories'")]
    with path.open("r+b") as handle:  # the table and its indexes: any query of memories meets one
        for root in roots:
            handle.seek((root - 1) * page)
            handle.write(b"\xff" * page)


def test_a_damaged_table_is_storage_corrupt_from_the_server_which_stays_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populated(home, 40)
    _damage_memories_table(home)
    with _server(home) as (client, _):
        r = client.post("/v1/memories/list", json={})
        _assert_storage_error(r, "storage_corrupt", home / "memory.db")
        assert "restore a backup" in r.json()["error"]["message"]
        assert client.get("/health").status_code == 200
    code, out = memorylayer(home, "list")
    assert code == 7 and out["error"]["code"] == "storage_corrupt"


@pytest.mark.parametrize("content", [b"\x00garbage" * 512, b"SQLite format 3\x00" + b"\xff" * 4_000])
def test_a_file_that_is_not_a_database_is_storage_corrupt_everywhere(tmp_path: Path, content: bytes) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "memory.db").write_bytes(content)
    code, out = memorylayer(home, "remember", "x", "--key", "k")
    assert code == 7 and out["error"]["code"] == "storage_corrupt"
    assert str(home / "memory.db") in out["error"]["message"] and "doctor" in out["error"]["message"]
    result = runner.invoke(cli, ["serve", "--home", str(home), "--port", "1"])
    assert result.exit_code == 7 and "[storage_corrupt]" in result.output
    mcp = subprocess.run(
        [str(Path(sys.executable).with_name("memorylayer")), "mcp"],
        env={**os.environ, "MEMORYLAYER_HOME": str(home)},
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert mcp.returncode == 7 and "[storage_corrupt]" in mcp.stderr and "Traceback" not in mcp.stderr
    assert (home / "memory.db").read_bytes() == content
