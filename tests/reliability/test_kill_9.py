"""kill -9 of a server while clients write: every acknowledged write survives, the database stays sound.

Writers add keyed memories, remove some they added, and set cache entries, through the real server
process. The server is killed with SIGKILL three times while they write and restarted on the same
home. Afterwards every write it acknowledged (200) is in the database exactly as acknowledged, and
``PRAGMA integrity_check`` passes; a request cut by the kill may or may not have been applied, as
with any server, but never half.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cluster import Replica

from memorylayer.config import Settings
from memorylayer.server import ServerSettings, admin
from memorylayer.store import open_backend

KILLS = 3
WRITERS = 4
#: Acknowledged writes between two kills.
WRITES_PER_ROUND = 40


@dataclass
class Ledger:
    """What the server acknowledged, per writer, and what it cut off."""

    added: dict[str, str] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    entries: dict[str, str] = field(default_factory=dict)
    acknowledged: int = 0
    cut: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _setup(home: Path) -> tuple[str, str]:
    backend = open_backend(Settings.load(home=home).database_url)
    try:
        server = ServerSettings.load(home)
        account = admin.create_account(backend.accounts, server, "writer@example.com", plan="enterprise")
        key = admin.create_key(backend.accounts, account.id)[1]
    finally:
        backend.close()
    return account.id, key


def test_acknowledged_writes_survive_three_kill_9s(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home).mkdir(mode=0o700)
    (home / "server.toml").write_text("cache_max_entries = 100000\n", encoding="utf-8")
    account_id, key = _setup(home)
    replica = Replica(home, 0)
    replica.start()
    with httpx.Client(base_url=replica.url) as client:
        cache_token = client.post("/v1/cache", json={}).json()["cache"]["rawToken"]
    ledger = Ledger()
    current = {"url": replica.url}
    up, stop = threading.Event(), threading.Event()
    up.set()

    def write(client: httpx.Client, name: str, i: int) -> tuple[str, str, str] | None:
        """One write: (kind, key, value) if the server acknowledged it, None if the kill cut it."""
        auth = {"Authorization": f"Bearer {key}"}
        mine = f"{name}-{i}"
        if i % 3 == 0:
            body, path, kind = {"key": mine, "value": f"e{i}"}, "/v1/cache/set", "entry"
            auth = {"Authorization": f"Bearer {cache_token}"}
        elif i % 5 == 0:
            with ledger.lock:
                mine = next((k for k in ledger.added if k.startswith(f"{name}-") and k not in ledger.removed), "")
            if not mine:
                return None
            body, path, kind = {"scope": "s", "key": mine}, "/v1/memories/remove", "remove"
        else:
            body, path, kind = {"scope": "s", "key": mine, "value": f"v{i}"}, "/v1/memories", "add"
        try:
            r = client.post(path, json=body, headers=auth)
        except httpx.TransportError:
            with ledger.lock:
                ledger.cut += 1
            return None
        assert r.status_code == 200, r.text
        return kind, mine, str(body.get("value", ""))

    def writer(name: str) -> None:
        client, i = httpx.Client(base_url=current["url"], timeout=30), 0
        try:
            while not stop.is_set():
                up.wait(timeout=120)
                if str(client.base_url).rstrip("/") != current["url"]:
                    client.close()
                    client = httpx.Client(base_url=current["url"], timeout=30)
                i += 1
                done = write(client, name, i)
                if done is None:
                    continue
                kind, written, value = done
                with ledger.lock:
                    ledger.acknowledged += 1
                    if kind == "entry":
                        ledger.entries[written] = value
                    elif kind == "remove":
                        ledger.removed.add(written)
                    else:
                        ledger.added[written] = value
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(1, KILLS + 1):
            _wait_until(lambda r=round_: ledger.acknowledged >= r * WRITES_PER_ROUND)
            up.clear()
            replica.kill()
            replica = Replica(home, round_)
            replica.start()
            current["url"] = replica.url
            up.set()
        _wait_until(lambda: ledger.acknowledged >= (KILLS + 1) * WRITES_PER_ROUND)
    finally:
        stop.set()
        up.set()
        for thread in threads:
            thread.join(timeout=120)
        replica.stop()

    with closing(sqlite3.connect(home / "memory.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        live = dict(
            conn.execute(
                "SELECT key, value FROM memories WHERE account = ? AND superseded_by IS NULL", (account_id,)
            ).fetchall()
        )
        entries = dict(conn.execute("SELECT key, value FROM wm_cache_entries").fetchall())
    for memory_key, value in ledger.added.items():
        if memory_key not in ledger.removed:
            assert live.get(memory_key) == value, memory_key
    assert not (ledger.removed & set(live))
    for entry_key, value in ledger.entries.items():
        assert entries.get(entry_key) == value, entry_key
    assert ledger.acknowledged >= (KILLS + 1) * WRITES_PER_ROUND and ledger.removed
    print(
        f"kill -9: {KILLS} kills, {WRITERS} writers, {ledger.acknowledged} acknowledged writes "
        f"({len(ledger.added)} adds, {len(ledger.removed)} removes, {len(ledger.entries)} cache entries), "
        f"{ledger.cut} cut by a kill, 0 lost"
    )


def _wait_until(condition: object) -> None:
    event = threading.Event()
    for _ in range(12_000):  # at most two minutes
        if condition():  # type: ignore[operator]
            return
        event.wait(0.01)
    raise AssertionError("the writers made no progress")
