"""`memorylayer doctor`: what it reports about the home, the database, the models; it never writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.embedding.embedder import DEFAULT_MODEL_SHA256

runner = CliRunner()


def doctor(home: Path) -> tuple[int, dict]:
    result = runner.invoke(app, ["doctor", "--home", str(home), "--json"])
    return result.exit_code, json.loads(result.stdout)


def _check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def test_a_missing_home_is_reported_and_not_created(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    code, report = doctor(home)
    assert code == 0 and report["ok"] is True
    assert _check(report, "home")["status"] == "warn" and _check(report, "database")["status"] == "warn"
    assert not home.exists()


@pytest.mark.sqlite_only
def test_a_healthy_home_passes_every_check_with_the_model_hashes_and_versions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert runner.invoke(app, ["remember", "I like tea", "--home", str(home)]).exit_code == 0
    code, report = doctor(home)
    assert code == 0 and report["ok"] is True
    database = _check(report, "database")
    assert database["status"] == "ok" and database["integrity"] == ["ok"] and database["memories"] == 1
    assert database["journal_mode"] == "wal" and database["mode"] == "0o600"
    assert _check(report, "embedding model")["sha256"] == DEFAULT_MODEL_SHA256
    assert _check(report, "home")["mode"] == "0o700"
    assert {"memorylayer-agents", "python", "sqlite", "onnxruntime"} <= set(report["versions"])


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_fails_with_storage_corrupt_and_exit_7(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "memory.db").write_bytes(b"not a database at all " * 100)
    code, report = doctor(home)
    assert code == 7 and report["ok"] is False
    database = _check(report, "database")
    assert database["status"] == "fail" and database["error"]["code"] == "storage_corrupt"
    assert str(home / "memory.db") in database["error"]["message"]
    assert sorted(p.name for p in home.iterdir()) == ["memory.db"]  # read-only: no -wal, no -shm


@pytest.mark.sqlite_only
def test_a_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for i in range(30):
        assert runner.invoke(app, ["remember", f"fact number {i} " * 20, "--home", str(home)]).exit_code == 0
    path = home / "memory.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(path.read_bytes())
    for number in range(pages // 2, pages - 1):  # interior pages; the header stays intact
        data[number * page + 8 : number * page + 200] = b"\xff" * 192
    path.write_bytes(bytes(data))
    code, report = doctor(home)
    assert code == 7 and _check(report, "database")["error"]["code"] == "storage_corrupt"


@pytest.mark.sqlite_only
def test_another_programs_sqlite_file_is_not_a_memorylayer_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    with sqlite3.connect(home / "memory.db") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    code, report = doctor(home)
    assert code == 7 and _check(report, "database")["error"]["code"] == "storage_corrupt"
    result = runner.invoke(app, ["list", "--home", str(home), "--json"])
    assert result.exit_code == 7 and json.loads(result.stdout)["error"]["code"] == "storage_corrupt"
    with sqlite3.connect(home / "memory.db") as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["invoices"]


@pytest.mark.sqlite_only
def test_files_others_can_read_are_warned_about(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert runner.invoke(app, ["remember", "I like tea", "--home", str(home)]).exit_code == 0
    (home / "memory.db").chmod(0o644)
    home.chmod(0o755)
    code, report = doctor(home)
    assert code == 0
    assert _check(report, "home")["status"] == "warn" and _check(report, "file memory.db")["status"] == "warn"


def test_the_plain_report_names_every_check(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor", "--home", str(tmp_path / "home")])
    assert result.exit_code == 0
    for name in ("home:", "database:", "embedding model:", "tokenizer:", "versions:"):
        assert name in result.stdout
