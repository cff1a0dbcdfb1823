"""`memorylayer consolidate [--compose] [--dry-run]` on the local engine."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.engine import Engine
from memorylayer.types import NewMemory

runner = CliRunner()
WORK = ["User works at Acme Corp as an engineer.", "User's manager is Dana.", "User's team ships the billing service."]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def _seed(values: list[str], recalls: str | None = None) -> list[str]:
    with Engine.open() as engine:
        ids = [m.id for m in engine.add_batch("work", [NewMemory(v) for v in values], dedup=False).memories]
        for _ in range(3 if recalls else 0):
            engine.recall("work", recalls or "")
        return ids


def test_a_dry_run_prints_the_plan_and_the_apply_merges() -> None:
    short, long = _seed(["User lives in Toronto.", "The user lives in Toronto, Canada."])
    code, out = run("consolidate", "-n", "work", "--dry-run")
    assert code == 0 and out.splitlines() == [
        f"would merge {short} into {long}",
        "1 merged, 0 decayed, 0 composed: 2 live memories -> 1 (dry run: nothing written)",
    ]
    code, out = run("consolidate", "-n", "work", "--json")
    body = json.loads(out)
    assert code == 0 and body["merged"] == 1 and body["merges"][0]["kept"] == long and body["dry_run"] is False
    with Engine.open() as engine:
        assert engine.count("work") == 1 and engine.get(short).superseded_by == long


def test_compose_compiles_what_was_recalled_together() -> None:
    parts = _seed(WORK, recalls="where does the user work, who is the manager and what does the team ship?")
    code, out = run("consolidate", "-n", "work", "--compose", "--json")
    body = json.loads(out)
    assert code == 0 and body["mode"] == "compose" and sorted(body["composites"][0]["parts"]) == sorted(parts)


def test_bad_input_is_a_usage_error_with_its_code() -> None:
    code, out = run("consolidate", "-n", "", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
