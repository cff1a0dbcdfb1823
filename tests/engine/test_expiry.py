"""Memories that disappear on their own: gone from every read at their expiry, purged by a sweep that
several processes may run at once without ever returning an expired memory or purging a live one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest
from memorylayer.types import NewMemory, now_ms


def wait_until(instant_ms: int) -> None:
    """Let the clock pass ``instant_ms`` (expiries are instants; this waits for one, bounded)."""
    deadline = time.monotonic() + 5
    while now_ms() <= instant_ms:
        assert time.monotonic() < deadline, "the clock did not move"
        time.sleep(0.005)


def soon(engine: Engine, ms: int = 400) -> int:
    """An instant ``ms`` from now, the model loaded first so the adds before it take no model-loading time."""
    engine.embedder.embed(["warm up"])
    return now_ms() + ms


def rows_held(engine: Engine) -> dict[str, int]:
    """What the database still holds, read past the store: rows, index entries, vectors, history."""
    tables = ("memories", "memory_terms", "memory_vectors", "memory_history")
    store = engine.store
    if engine.backend.url.startswith("sqlite"):
        conn = sqlite3.connect(store.database.path)  # type: ignore[attr-defined]
        try:
            return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}
        finally:
            conn.close()
    return {table: int(store.database.one(f"SELECT count(*) FROM {table}")[0]) for table in tables}  # type: ignore[attr-defined]


def test_an_expired_memory_is_gone_from_every_read_before_any_sweep(engine: Engine) -> None:
    at = soon(engine)
    short = engine.add("s", "Reminder: the parcel arrives on Tuesday.", extract=False, expires_at=at).memories[0]
    keyed = engine.add("s", "dark mode for this session", key="theme", expires_at=at).memories[0]
    engine.add("s", "The user's favourite colour is green.", extract=False)
    assert short.expires_at == at and engine.get(short.id).expires_at == at
    assert engine.count("s") == 3
    wait_until(at)
    assert engine.count("s") == 1 and engine.count() == 1
    assert [m.value for m in engine.iter_all(scope="s")] == ["The user's favourite colour is green."]
    assert all(h.memory.id not in (short.id, keyed.id) for h in engine.search("parcel Tuesday dark mode", scope="s"))
    assert "parcel" not in engine.recall("s", "when does the parcel arrive?").context
    assert engine.get_key("s", "theme") is None
    assert [n.count for n in engine.namespaces()] == [1]
    with pytest.raises(Exception, match="does not exist"):
        engine.get(short.id)


def test_a_ttl_counts_from_the_add_and_re_adding_a_key_sets_its_expiry_again(engine: Engine) -> None:
    before = now_ms()
    memory = engine.add("s", "on call this week", key="status", ttl=7 * 86_400).memories[0]
    assert before + 7 * 86_400_000 <= memory.expires_at <= now_ms() + 7 * 86_400_000
    kept = engine.add("s", "on call this week", key="status").memories[0]
    assert kept.expires_at is None and engine.get_key("s", "status").expires_at is None
    assert engine.history(scope="s", key="status")[-1].value == "on call this week"


def test_a_key_whose_value_expired_takes_a_new_value_before_any_sweep(engine: Engine) -> None:
    at = soon(engine)
    engine.add("s", "temporary", key="note", expires_at=at)
    wait_until(at)
    fresh = engine.add("s", "permanent", key="note").memories[0]
    assert engine.get_key("s", "note").id == fresh.id and engine.count("s") == 1


def test_list_expiring_shows_what_will_go_soonest_first(engine: Engine) -> None:
    now = now_ms()
    engine.add("s", "goes last", extract=False, expires_at=now + 3_600_000)
    engine.add("s", "stays", extract=False)
    engine.add("s", "goes first", extract=False, expires_at=now + 60_000)
    page = engine.list(scope="s", expiring=True, order_by="expires_at", order_dir="asc")
    assert [m.value for m in page.memories] == ["goes first", "goes last"]
    assert engine.list(scope="s", order_by="expires_at", order_dir="asc").memories[-1].value == "stays"


@pytest.mark.parametrize(
    ("expires_at", "ttl", "message"),
    [
        (1, None, "not in the future"),
        (now_ms() + 60_000, 60, "not both"),
        (None, 0, "ttl: must be between 1"),
        (None, "7d", "ttl: expected an integer"),
        ("tomorrow", None, "expires_at: expected an integer"),
    ],
)
def test_a_bad_expiry_is_refused_and_nothing_is_written(engine: Engine, expires_at, ttl, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        engine.add("s", "text", extract=False, expires_at=expires_at, ttl=ttl)
    with pytest.raises(InvalidRequest):
        engine.add_batch("s", [NewMemory("x", expires_at=1)])
    assert engine.count() == 0


def test_the_sweep_purges_text_vectors_index_entries_and_history(engine: Engine) -> None:
    at = soon(engine)
    engine.add("s", "first value", key="k", expires_at=at)
    engine.add("s", "second value", key="k", expires_at=at)  # history holds the first
    engine.add("s", "A session note about the draft.", extract=False, expires_at=at)
    engine.add("s", "Kept forever.", extract=False)
    assert rows_held(engine) == {"memories": 3, "memory_terms": 3, "memory_vectors": 3, "memory_history": 1}
    wait_until(at)
    assert engine.purge_expired() == 2
    assert rows_held(engine) == {"memories": 1, "memory_terms": 1, "memory_vectors": 1, "memory_history": 0}
    assert engine.purge_expired() == 0


def test_export_and_import_keep_the_expiry_and_an_expired_line_is_not_imported(engine: Engine, tmp_path: Path) -> None:
    later = now_ms() + 3_600_000
    engine.add("s", "expires in an hour", extract=False, expires_at=later)
    engine.add("s", "kept", extract=False)
    path = tmp_path / "out.jsonl"
    with path.open("w", encoding="utf-8") as fp:
        assert engine.export_jsonl(fp) == 2
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted((line["value"], line["expires_at"] is None) for line in lines) == [
        ("expires in an hour", False),
        ("kept", True),
    ]
    lines.append({"scope": "s", "value": "already gone", "expires_at": "2001-01-01T00:00:00Z"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    other = Engine.open(tmp_path / "other-home", database=str(tmp_path / "other.db"))  # another database
    try:
        with path.open(encoding="utf-8") as fp:
            assert other.import_jsonl(fp) == 2
        assert {m.value: m.expires_at for m in other.iter_all()} == {"expires in an hour": later, "kept": None}
    finally:
        other.close()


SWEEPER = textwrap.dedent(
    """
    import json, sys, time
    from memorylayer.engine import Engine
    home, until = sys.argv[1], float(sys.argv[2])
    engine = Engine.open(home)
    purged = 0
    while time.time() < until:
        purged += engine.purge_expired(limit=7)
    purged += engine.purge_expired()
    print(json.dumps({"purged": purged}))
    """
)

READER = textwrap.dedent(
    """
    import json, sys, time
    from memorylayer.engine import Engine
    from memorylayer.types import now_ms
    home, until = sys.argv[1], float(sys.argv[2])
    engine = Engine.open(home)
    stale, reads, live_seen = [], 0, set()
    while reads == 0 or time.time() < until:  # at least one read, however slow the start
        started = now_ms()
        found = [h.memory for h in engine.search("reminder number", scope="r", top_k=50)]
        found += engine.recall("r", "which reminder is due?", max_items=50, max_tokens=2000).memories
        found += engine.list(scope="r", limit=500).memories
        for memory in found:
            # Whatever a read returns was live when the read began.
            if memory.expires_at is not None and memory.expires_at <= started:
                stale.append([memory.value, memory.expires_at, started])
            if memory.expires_at is None:
                live_seen.add(memory.value)
        reads += 1
    print(json.dumps({"stale": stale, "reads": reads, "live_seen": sorted(live_seen)}))
    """
)


def test_a_purge_racing_recalls_in_other_processes_never_returns_the_expired_nor_purges_the_live(
    tmp_path: Path,
) -> None:
    home = tmp_path / "shared-home"
    engine = Engine.open(home)
    # 60 reminders expiring one after another over about three seconds, 20 kept for good and 10
    # expiring long after the test: the sweepers must take exactly the 60.
    engine.add_many("r", [f"Permanent reminder number {i}." for i in range(20)])
    engine.add_many("r", [f"Later reminder number {i}." for i in range(10)], ttl=3_600)
    now = now_ms()  # the model is loaded and warm: one batch write follows
    engine.add_batch(
        "r", [NewMemory(f"Short reminder number {i} is due.", expires_at=now + 1_500 + 50 * i) for i in range(60)]
    )
    engine.close()
    sweeper, reader = tmp_path / "sweeper.py", tmp_path / "reader.py"
    sweeper.write_text(SWEEPER, encoding="utf-8")
    reader.write_text(READER, encoding="utf-8")
    until = str(time.time() + 6)
    processes = [
        subprocess.Popen(
            [sys.executable, str(sweeper), str(home), until], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    processes += [
        subprocess.Popen(
            [sys.executable, str(reader), str(home), until], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    sweeps, reads = outputs[:2], outputs[2:]
    assert sum(s["purged"] for s in sweeps) == 60  # each expired memory went exactly once
    for result in reads:
        assert result["reads"] > 0 and result["stale"] == []
        assert len(result["live_seen"]) == 20
    engine = Engine.open(home)
    try:
        assert rows_held(engine)["memories"] == 30 and engine.purge_expired() == 0
        assert engine.count("r") == 30
        assert sorted(m.value for m in engine.iter_all(scope="r") if m.expires_at is None) == sorted(
            f"Permanent reminder number {i}." for i in range(20)
        )
    finally:
        engine.close()
