"""The local memory commands through the CLI runner, plus one run of the installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memorylayer.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_remember_recall_search_get_forget_round_trip() -> None:
    code, out = run("remember", "Deploys run on merge to main", "--namespace", "work", "--json")
    assert code == 0
    memory_id = json.loads(out)["memories"][0]["id"]
    code, out = run("recall", "how do deploys work?", "-n", "work")
    assert code == 0 and out.strip() == "Deploys run on merge to main"
    code, out = run("search", "deploy", "--json")
    first = json.loads(out)["results"][0]
    assert first["id"] == memory_id and 0 <= first["score"] <= 1
    code, out = run("get", memory_id, "--json")
    assert json.loads(out)["memory"]["namespace"] == "work"
    code, out = run("forget", memory_id, "--json")
    assert code == 0 and json.loads(out) == {"status": "deleted"}
    code, out = run("get", memory_id, "--json")
    assert code == 3 and json.loads(out)["error"]["code"] == "not_found"


def test_keyed_facts_history_and_forget_by_key() -> None:
    run("remember", "vim", "--key", "editor")
    run("remember", "helix", "--key", "editor")
    code, out = run("get", "--key", "editor", "--json")
    assert json.loads(out)["memory"]["value"] == "helix"
    code, out = run("history", "--key", "editor", "--json")
    assert [e["value"] for e in json.loads(out)["history"]] == ["vim"]
    assert run("forget", "--key", "editor")[0] == 0
    code, out = run("forget", "--key", "editor", "--json")
    assert code == 3


def test_extract_flag_runs_the_offline_extractor() -> None:
    code, out = run("remember", "I'm allergic to peanuts", "--extract", "--json")
    assert [m["value"] for m in json.loads(out)["memories"]] == ["User is allergic to peanuts."]
    code, out = run("remember", "hello there!", "--extract", "--json")
    assert json.loads(out)["memories"] == []


def test_list_namespaces_and_pagination() -> None:
    for i in range(3):
        run("remember", f"fact {i} about the build", "-n", "a")
    run("remember", "another", "-n", "b")
    code, out = run("namespaces", "--json")
    assert {n["namespace"]: n["count"] for n in json.loads(out)["namespaces"]} == {"a": 3, "b": 1}
    code, out = run("list", "-n", "a", "--limit", "2", "--json")
    page = json.loads(out)
    assert len(page["memories"]) == 2 and page["next_cursor"]
    code, out = run("list", "-n", "a", "--limit", "2", "--cursor", page["next_cursor"], "--json")
    assert len(json.loads(out)["memories"]) == 1


def _another_database(tmp_path: Path) -> str:
    """A second, empty database of this run's backend: under ``--backend postgres`` every home shares one."""
    if os.environ.get("MEMORYLAYER_DATABASE", "").startswith("postgresql"):
        from postgres_server import shared

        return shared().new_database()
    return str(tmp_path / "other" / "memory.db")


def test_export_and_import(tmp_path: Path) -> None:
    run("remember", "Alice", "--key", "name", "-n", "u")
    target = tmp_path / "dump.jsonl"
    assert run("export", "-o", str(target))[0] == 0
    other = ["--home", str(tmp_path / "other"), "--database", _another_database(tmp_path)]
    code, out = run("import", str(target), *other, "--json")
    assert code == 0 and json.loads(out) == {"imported": 1}
    code, out = run("get", "--key", "name", "-n", "u", *other, "--json")
    assert json.loads(out)["memory"]["value"] == "Alice"


def test_reindex_reports_what_it_did() -> None:
    run("remember", "something")
    code, out = run("reindex", "--json")
    assert code == 0 and json.loads(out)["reindexed"] == 0


def test_bad_input_gets_a_stable_code_and_exit_status(tmp_path: Path) -> None:
    code, out = run("remember", "x", "--namespace", "n" * 256, "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    code, out = run("remember", "x", "--metadata", "[1]", "--json")
    assert code == 2
    code, out = run("recall", "q", "--threshold", "loose", "--json")
    assert code == 2
    code, out = run("list", "--cursor", "garbage", "--json")
    assert json.loads(out)["error"]["message"] == "Invalid cursor"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"scope": "s", "value": "ok"}\nnot json\n', encoding="utf-8")
    code, out = run("import", str(bad), "--json")
    assert code == 2 and "line 2" in json.loads(out)["error"]["message"]
    code, out = run("namespaces", "--json")
    assert json.loads(out) == {"namespaces": []}
    code, out = run("import", str(tmp_path / "missing.jsonl"), "--json")
    assert code == 3


def test_the_installed_command_runs(tmp_path: Path) -> None:
    exe = shutil.which("memorylayer") or str(Path(__file__).parents[2] / ".venv/bin/memorylayer")
    done = subprocess.run(
        [exe, "remember", "installed command works", "--json", "--home", str(tmp_path / "h")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["memories"][0]["value"] == "installed command works"


def _cli(home: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """The real command in a new process, so arguments arrive as the bytes a shell passes."""
    command: list[str | bytes] = [sys.executable, "-c", "from memorylayer.cli import main; main()", *args]
    env = {**os.environ, "MEMORYLAYER_HOME": str(home)}
    return subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)


def test_remember_with_bytes_that_are_not_utf8_is_invalid_request_with_exit_2(memorylayer_home: Path) -> None:
    result = _cli(memorylayer_home, "remember", b"caf\xe9 au lait", "--json")
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "invalid_request"
    assert b"Traceback" not in result.stderr
    plain = _cli(memorylayer_home, "remember", b"caf\xe9")
    assert plain.returncode == 2 and b"[invalid_request]" in plain.stderr


def test_import_of_a_file_with_lone_surrogates_or_bad_bytes_names_the_line_and_writes_nothing(
    memorylayer_home: Path, tmp_path: Path
) -> None:
    good = json.dumps({"scope": "s", "value": "fine"}) + "\n"
    bad_bytes = tmp_path / "latin1.jsonl"
    bad_bytes.write_bytes(good.encode() + b'{"scope": "s", "value": "caf\xe9"}\n')
    escaped = tmp_path / "escaped.jsonl"
    escaped.write_text(good + '{"scope": "s", "value": "half \\ud800 pair"}\n', encoding="utf-8")
    for path in (bad_bytes, escaped):
        result = _cli(memorylayer_home, "import", str(path), "--json")
        assert result.returncode == 2, result.stderr
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "invalid_request" and error["message"].startswith("line 2:")
    listed = _cli(memorylayer_home, "list", "--json")
    assert json.loads(listed.stdout)["memories"] == []


def test_control_characters_in_arguments_are_invalid_request_with_exit_2() -> None:
    for args in (["remember", "v", "--key", "k\n"], ["remember", "v", "-n", "work\x00"], ["get", "--key", "k\x1b"]):
        code, out = run(*args, "--json")
        assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request", args
    code, out = run("list", "--json")
    assert code == 0 and json.loads(out)["memories"] == []


def test_import_of_a_utf16_file_says_so_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "wide.jsonl"
    path.write_text(json.dumps({"scope": "s", "value": "wide"}) + "\n", encoding="utf-16")
    code, out = run("import", str(path), "--json")
    assert code == 2 and "UTF-16" in json.loads(out)["error"]["message"]
    assert json.loads(run("list", "--json")[1])["memories"] == []


def test_an_export_that_cannot_be_written_is_a_storage_error_with_exit_7(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    code, out = run("export", "--output", str(blocker / "out.jsonl"), "--json")
    assert code == 7 and json.loads(out)["error"]["code"].startswith("storage_")
    assert str(blocker / "out.jsonl") in json.loads(out)["error"]["message"]


def test_remember_with_created_at_dates_the_memory_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        code, out = run("remember", "Caroline went to a support group", "--created-at", "2023-05-08 13:56", "--json")
        assert code == 0, out
        assert json.loads(out)["memories"][0]["created_at"] == "2023-05-08T13:56:00.000Z"
        code, out = run("remember", "x", "--created-at", "2023-05-08T13:56:00+02:00", "--json")
        assert json.loads(out)["memories"][0]["created_at"] == "2023-05-08T11:56:00.000Z"
        code, out = run("remember", "y", "--created-at", "next tuesday", "--json")
        assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
        assert "created_at" in json.loads(out)["error"]["message"]
    finally:
        monkeypatch.delenv("TZ", raising=False)
        time.tzset()


def test_remember_with_a_ttl_and_list_expiring_show_what_will_go() -> None:
    assert run("remember", "Parcel arrives Tuesday", "--ttl", "7d")[0] == 0
    assert run("remember", "Standup moved to 10:00", "--ttl", "12h")[0] == 0
    assert run("remember", "The office is in Lyon")[0] == 0
    code, out = run("list", "--expiring", "--json")
    listed = json.loads(out)["memories"]
    assert code == 0 and [m["value"] for m in listed] == ["Standup moved to 10:00", "Parcel arrives Tuesday"]
    assert listed[0]["expires_at"] < listed[1]["expires_at"]
    code, out = run("list", "--expiring")
    assert code == 0 and "expires" in out and "Lyon" not in out
    for bad in ("7 days", "-1d", "0"):
        code, out = run("remember", "x", "--ttl", bad, "--json")
        assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request", bad


def test_get_recall_and_list_as_of_answer_with_what_was_true_then() -> None:
    for when, plan in (("2024-03-01", "free"), ("2024-08-15", "pro"), ("2025-05-05", "team")):
        assert run("remember", plan, "--key", "plan", "--created-at", when)[0] == 0
    code, out = run("get", "--key", "plan", "--as-of", "2024-09-01", "--json")
    memory = json.loads(out)["memory"]
    assert code == 0 and memory["value"] == "pro"
    assert (memory["valid_from"], memory["valid_to"]) == ("2024-08-15T00:00:00.000Z", "2025-05-05T00:00:00.000Z")
    assert run("recall", "which plan?", "--as-of", "2024-04-01")[1].strip() == "plan: free"
    assert run("recall", "which plan?")[1].strip() == "plan: team"
    code, out = run("list", "--as-of", "2023-01-01", "--json")
    assert code == 0 and json.loads(out)["memories"] == []
    code, out = run("get", "--key", "plan", "--as-of", "last spring", "--json")
    assert code == 2 and "as_of" in json.loads(out)["error"]["message"]
