"""`memorylayer answer` on the local engine and `memorylayer usage` against a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.registry.client import save_login
from memorylayer.server import ServerSettings, admin, create_app
from support import serve_in_thread

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_answer_prints_the_supported_span_and_its_citation() -> None:
    code, out = run("remember", "Caroline moved to Boston in 2021. She is a nurse.", "-n", "friends", "--json")
    memory_id = json.loads(out)["memories"][0]["id"]
    code, out = run("answer", "Where did Caroline move?", "-n", "friends")
    assert code == 0 and out.splitlines() == ["Boston", f"  cites {memory_id}"]
    code, out = run("answer", "Where did Caroline move?", "-n", "friends", "--json")
    body = json.loads(out)
    assert body["found"] is True and body["citations"] == [memory_id] and body["method"] == "extractive"
    assert body["answer"] == "Boston" and body["context"] == "Caroline moved to Boston in 2021."
    assert body["evidence"][0]["namespace"] == "friends" and 0 <= body["evidence"][0]["score"] <= 1


def test_answer_says_not_in_memory_and_refuses_bad_input() -> None:
    run("remember", "Melanie has two dogs.", "-n", "friends")
    code, out = run("answer", "What car does Bob drive?", "-n", "friends")
    assert code == 0 and out.strip() == "not in memory"
    code, out = run("answer", "   ", "-n", "friends", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    code, out = run("answer", "q", "--max-items", "0", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real server on its own home, and a raw key of a free account on it: (url, key)."""
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    settings = Settings.load(home=server_home)
    engine = Engine.open(settings=settings)
    server_settings = ServerSettings.load(server_home)
    application = create_app(settings, server=server_settings, engine=engine)
    state = application.state.server
    account = admin.create_account(state.store, server_settings, "usage@example.com")
    _, raw = admin.create_key(state.store, account.id)
    with serve_in_thread(application) as url:
        yield url, raw
    engine.close()


def test_usage_shows_the_saved_keys_budgets_on_its_server(served: tuple[str, str]) -> None:
    url, key = served
    code, out = run("usage", "--registry", url, "--json")
    assert code == 4 and json.loads(out)["error"]["code"] == "unauthorized"  # no key saved yet
    save_login(url, key, "usage")  # what `memorylayer login` writes (0600 auth.json)
    code, out = run("usage", "--registry", url, "--json")
    budgets = json.loads(out)["budgets"]
    assert code == 0 and budgets["planTier"] == "free"
    assert budgets["operations"]["answer"] == {"used": 0, "limit": 50}
    code, out = run("usage", "--registry", url)
    assert code == 0 and "answer" in out and "not on this plan" in out


def test_remember_document_stores_a_file_as_chunks_and_replaces_them(tmp_path: Path) -> None:
    guide = tmp_path / "deploy.md"
    guide.write_text("# Deploy\n\nDeploys run on merge.\n\n## Rollback\nRun deploy --previous.\n", encoding="utf-8")
    code, out = run("remember-document", str(guide), "-n", "ops", "--json")
    body = json.loads(out)
    assert code == 0 and body["document"] == "deploy.md" and body["removed"] == 0
    assert [c["key"] for c in body["chunks"]] == ["deploy.md#0", "deploy.md#1"]
    guide.write_text("Deploys run nightly.", encoding="utf-8")
    code, out = run("remember-document", str(guide), "-n", "ops")
    assert code == 0 and out.strip() == "deploy.md: 1 chunks (1 old ones removed)"
    code, out = run("recall", "when do deploys run?", "-n", "ops")
    assert out.strip() == "deploy.md#0: Deploys run nightly."  # chunks are keyed facts in a context
    code, out = run("remember-document", str(tmp_path / "missing.md"), "--json")
    assert code == 7 and json.loads(out)["error"]["code"].startswith("storage")
    (tmp_path / "blank.md").write_text("  \n", encoding="utf-8")
    code, out = run("remember-document", str(tmp_path / "blank.md"), "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"


def test_remember_batch_reports_each_line_and_refuses_a_bad_file(tmp_path: Path) -> None:
    lines = [
        {"value": "Caroline moved to Boston in 2021."},
        {"value": "UTC+1", "key": "timezone", "importance": 0.8},
        {"value": "Caroline moved to Boston in 2021."},
    ]
    good = tmp_path / "notes.jsonl"
    good.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    code, out = run("remember-batch", str(good), "-n", "life", "--json")
    assert code == 0, out
    results = json.loads(out)["results"]
    assert [(r["index"], r["status"]) for r in results] == [(0, "stored"), (1, "stored"), (2, "duplicate")]
    assert results[2]["id"] == results[0]["id"]
    code, out = run("remember-batch", str(good), "-n", "life")
    assert code == 0 and re.findall(r"\b(stored|updated|duplicate|unchanged)\b", out) == [
        "duplicate",
        "unchanged",
        "duplicate",
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"value": "a new fact"}\n{"value": "x", "importance": 7}\n', encoding="utf-8")
    code, out = run("remember-batch", str(bad), "-n", "life", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    assert "line 2" in json.loads(out)["error"]["message"]
    code, out = run("list", "-n", "life", "--json")
    assert "a new fact" not in out


def test_remember_batch_partial_stores_the_good_lines_and_refuses_each_bad_one(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"value": "Caroline moved to Boston in 2021."}\n'
        '{"value": "x", "importance": 7}\n'
        "\n"
        "not json\n"
        '{"value": "UTC+1", "key": "timezone"}\n',
        encoding="utf-8",
    )
    code, out = run("remember-batch", str(notes), "-n", "p", "--json")  # the default: all or nothing
    assert code == 2 and "line 2" in json.loads(out)["error"]["message"]
    code, out = run("remember-batch", str(notes), "-n", "p", "--partial", "--json")
    assert code == 0, out
    results = json.loads(out)["results"]
    assert [(r["index"], r["status"], r.get("code")) for r in results] == [
        (0, "stored", None),
        (1, "refused", "invalid_request"),
        (2, "refused", "invalid_request"),
        (3, "stored", None),
    ]
    assert results[1]["message"].startswith("line 2: importance") and results[1]["id"] is None
    assert results[2]["message"].startswith("line 4: not valid JSON")
    code, out = run("list", "-n", "p", "--json")
    assert sorted(m["value"] for m in json.loads(out)["memories"]) == ["Caroline moved to Boston in 2021.", "UTC+1"]
    code, out = run("remember-batch", str(notes), "-n", "p", "--partial")
    assert code == 0 and re.findall(r"\b(duplicate|unchanged|refused)\b", out) == [
        "duplicate",
        "refused",
        "refused",
        "unchanged",
    ]
    assert out.count("invalid_request") == 2  # the reason column: code and message
    bad_only = tmp_path / "bad.jsonl"
    bad_only.write_text("[1]\n", encoding="utf-8")
    code, out = run("remember-batch", str(bad_only), "-n", "p", "--partial", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)["results"]] == ["refused"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    code, out = run("remember-batch", str(empty), "-n", "p", "--partial", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"


def test_verify_prints_the_verdict_and_the_evidence() -> None:
    code, out = run("remember", "Melanie has two dogs named Rex and Bo.", "-n", "friends", "--json")
    dogs = json.loads(out)["memories"][0]["id"]
    code, out = run("verify", "Melanie has three dogs.", "-n", "friends")
    assert code == 0 and out.splitlines()[0] == "contradicted"
    assert out.splitlines()[1].startswith(f"  number {dogs}: 2 rather than 3")
    code, out = run("verify", "Melanie has 2 dogs.", "-n", "friends", "--json")
    body = json.loads(out)
    assert body["verdict"] == "supported" and body["method"] == "rules"
    assert body["evidence"][0]["memory"]["id"] == dogs and body["evidence"][0]["check"] == "overlap"
    code, out = run("verify", "Bob drives a red car.", "-n", "friends")
    assert code == 0 and out.strip() == "not_enough_information"
    code, out = run("verify", "  ", "-n", "friends", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
