"""The local memory commands through the CLI runner, plus one run of the installed command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

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
    assert json.loads(out)[0]["id"] == memory_id and 0 <= json.loads(out)[0]["score"] <= 1
    code, out = run("get", memory_id, "--json")
    assert json.loads(out)["scope"] == "work"
    code, out = run("forget", memory_id, "--json")
    assert code == 0 and json.loads(out) == {"status": "deleted"}
    code, out = run("get", memory_id, "--json")
    assert code == 3 and json.loads(out)["error"]["code"] == "not_found"


def test_keyed_facts_history_and_forget_by_key() -> None:
    run("remember", "vim", "--key", "editor")
    run("remember", "helix", "--key", "editor")
    code, out = run("get", "--key", "editor", "--json")
    assert json.loads(out)["value"] == "helix"
    code, out = run("history", "--key", "editor", "--json")
    assert [e["value"] for e in json.loads(out)] == ["vim"]
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
    assert {n["namespace"]: n["count"] for n in json.loads(out)} == {"a": 3, "b": 1}
    code, out = run("list", "-n", "a", "--limit", "2", "--json")
    page = json.loads(out)
    assert len(page["memories"]) == 2 and page["next_cursor"]
    code, out = run("list", "-n", "a", "--limit", "2", "--cursor", page["next_cursor"], "--json")
    assert len(json.loads(out)["memories"]) == 1


def test_export_and_import(tmp_path: Path) -> None:
    run("remember", "Alice", "--key", "name", "-n", "u")
    target = tmp_path / "dump.jsonl"
    assert run("export", "-o", str(target))[0] == 0
    code, out = run("import", str(target), "--home", str(tmp_path / "other"), "--json")
    assert code == 0 and json.loads(out) == {"imported": 1}
    code, out = run("get", "--key", "name", "-n", "u", "--home", str(tmp_path / "other"), "--json")
    assert json.loads(out)["value"] == "Alice"


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
    assert json.loads(out) == []
    code, out = run("import", str(tmp_path / "missing.jsonl"), "--json")
    assert code == 3


def test_the_installed_command_runs(tmp_path: Path) -> None:
    exe = shutil.which("memorylayer") or str(Path(__file__).parents[2] / ".venv/bin/memorylayer")
    done = subprocess.run(
        [exe, "remember", "installed command works", "--json", "--home", str(tmp_path / "h")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["memories"][0]["value"] == "installed command works"
