"""``memorylayer migrate-store``: SQLite to PostgreSQL and back, resumed after an interruption, verified."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.engine import Engine
from memorylayer.server import ServerSettings, admin
from memorylayer.server.auth import sha256
from memorylayer.store import Backend, open_backend, transfer
from memorylayer.store.registry import Package, Version
from memorylayer.types import Link

runner = CliRunner()
pytestmark = pytest.mark.sqlite_only  # the test makes its own SQLite file and PostgreSQL databases


def _migrate(source: str, target: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["migrate-store", "--from", source, "--to", target, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _fill(url: str, home: Path) -> dict[str, str]:
    """A database with an account, a container, keys, memories (one updated, one superseded) and history."""
    backend = open_backend(url)
    try:
        server = ServerSettings.load(home)
        account = admin.create_account(backend.accounts, server, "owner@example.com", plan="enterprise")
        key = admin.create_key(backend.accounts, account.id)[1]
        container = backend.accounts.create_account(
            "c@internal", plan_tier="free", memory_limit=10, monthly_api_call_limit=10, parent_account_id=account.id,
            name="bot", now=2_000,
        )  # fmt: skip
        backend.accounts.take_daily_call("key-1", "2026-01-01", 10)
        _publish(backend, account.id, home)
    finally:
        backend.close()
    with Engine.open(database=url) as engine:
        mine = engine.for_account(account.id)
        for i in range(12):
            mine.add("notes", f"Fact number {i} about the garden", key=f"k{i}")
        mine.add("notes", "I live in Oslo now", key="city")
        mine.add("notes", "I live in Bergen now", key="city")  # the Oslo state goes to history
        memory = mine.add("prefs", "Prefers tea over coffee", key="drink").memories[0]
        mine.update(memory.id, metadata={"checked": True})
        mine.recall("notes", "Fact number 3 about the garden")  # the recall log (consolidate reads it)
        garden = [m.id for m in mine.iter_all(scope="notes")][:2]
        mine.store.put_links(mine.account, "notes", [Link(*garden, "entity", 0.25, "garden")], 3_000)  # weave's
        engine.for_account(container.id).add("bot", "The bot speaks French", key="lang")
    return {"account": account.id, "key": key}


TARBALL = b"a package tarball's bytes " * 50_000  # over one of PostgreSQL's 1 MiB chunks


def _publish(backend: Backend, account_id: str, home: Path) -> None:
    """A registry user, a package and a version whose tarball is stored where the backend keeps them."""
    registry = backend.registry
    username = registry.claim_username(account_id, "owner", now=1_000)
    registry.upsert_package(Package(f"@{username}/notes", username, account_id, "", ["garden"], False, 1_000, 1_000))
    digest = hashlib.sha512(TARBALL).digest()
    integrity = "sha512-" + base64.b64encode(digest).decode()
    registry.add_version(Version(f"@{username}/notes", "1.0.0", integrity, len(TARBALL), 15, {}, account_id, 1_000))
    tarballs = backend.tarballs(home)
    upload = tarballs.scratch() / "upload.tgz"
    upload.write_bytes(TARBALL)
    tarballs.put(digest.hex(), upload)


def _recall_top(url: str, account: str, query: str) -> str:
    with Engine.open(database=url) as engine:
        return engine.for_account(account).search(query, scope="notes", top_k=1)[0].memory.value


def test_sqlite_to_postgres_and_back_copies_everything_and_verifies_it(tmp_path: Path) -> None:
    from postgres_server import shared

    sqlite_url = f"sqlite:///{tmp_path / 'source.db'}"
    made = _fill(sqlite_url, tmp_path)
    postgres_url = shared().new_database()
    code, out = _migrate(sqlite_url, postgres_url)
    assert code == 0, out
    assert out["copied"]["memories"] == out["counts"]["memories"] == 15
    assert out["counts"]["wm_accounts"] == 2 and out["counts"]["memory_history"] >= 2
    assert out["counts"]["memory_recalls"] == out["copied"]["memory_recalls"] >= 1
    assert out["counts"]["memory_links"] == out["copied"]["memory_links"] == 1
    assert out["counts"]["memory_vectors"] == 15 and out["counts"]["mcp_daily_calls"] == 1
    assert out["counts"]["reg_versions"] == out["counts"]["tarballs"] == out["copied"]["tarballs"] == 1
    # The copy answers like the source: the same key authenticates, search ranks alike, history is there.
    target = open_backend(postgres_url)
    try:
        key = target.accounts.key_by_hash(sha256(made["key"]))
        assert key is not None and key.account_id == made["account"]
        assert target.accounts.daily_calls("key-1", "2026-01-01") == 1
    finally:
        target.close()
    for query in ("where do I live?", "garden fact number 7"):
        assert _recall_top(postgres_url, made["account"], query) == _recall_top(sqlite_url, made["account"], query)
    with Engine.open(database=postgres_url) as engine:
        mine = engine.for_account(made["account"])
        assert [h.value for h in mine.history(scope="notes", key="city")] == ["I live in Oslo now"]
    # Running it again copies nothing and still verifies.
    code, again = _migrate(sqlite_url, postgres_url)
    assert code == 0 and again["copied"]["memories"] == 0 and again["counts"] == out["counts"]
    # And back, into a new SQLite file.
    (tmp_path / "back").mkdir()
    back = f"sqlite:///{tmp_path / 'back' / 'memory.db'}"
    code, returned = _migrate(postgres_url, back)
    assert code == 0 and returned["counts"] == out["counts"]
    digest = hashlib.sha512(TARBALL).hexdigest()  # the tarball came back out of PostgreSQL into the new home
    assert (tmp_path / "back" / "registry" / "tarballs" / digest[:2] / digest).read_bytes() == TARBALL
    assert _recall_top(back, made["account"], "where do I live?") == "I live in Bergen now"


def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from postgres_server import shared

    sqlite_url = f"sqlite:///{tmp_path / 'source.db'}"
    _fill(sqlite_url, tmp_path)
    postgres_url = shared().new_database()
    monkeypatch.setattr(transfer, "BATCH", 5)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt  # as if the operator pressed Ctrl-C after the first batch

    source, target = open_backend(sqlite_url), open_backend(postgres_url)
    try:
        with pytest.raises(KeyboardInterrupt):
            transfer.transfer(source, target, progress=stop)
        assert target.memories.count_live([a.id for a in target.accounts.list_accounts()]) == 5
        report = transfer.transfer(source, target)
    finally:
        source.close()
        target.close()
    assert report.copied["memories"] == 10 and report.counts["memories"] == 15


def test_a_target_that_differs_is_refused_with_integrity_error(tmp_path: Path) -> None:
    from postgres_server import shared

    sqlite_url = f"sqlite:///{tmp_path / 'source.db'}"
    _fill(sqlite_url, tmp_path)
    postgres_url = shared().new_database()
    with Engine.open(database=postgres_url) as engine:
        engine.add("elsewhere", "Written to the target before the copy", key="x")
    code, out = _migrate(sqlite_url, postgres_url)
    assert code == 6 and out["error"]["code"] == "integrity_error"
    assert "memories (15 rows in the source, 16 in the target)" in out["error"]["message"]
    code, out = _migrate(sqlite_url, sqlite_url)
    assert code == 2 and out["error"]["code"] == "invalid_request"
