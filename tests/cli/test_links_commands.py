"""`memorylayer weave`, `explore` and `ripple [--apply]` on the local engine."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.engine import Engine
from memorylayer.types import NewMemory

runner = CliRunner()
FACTS = ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky.", "User drinks green tea."]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def _seed(items: list[NewMemory]) -> list[str]:
    with Engine.open() as engine:
        return [m.id for m in engine.add_batch("life", items, dedup=False).memories]


def test_weave_then_explore_shows_the_link_that_led_to_each_memory() -> None:
    sunrise, daughter, _ = _seed([NewMemory(v) for v in FACTS])
    code, out = run("weave", "-n", "life")
    assert code == 0 and out.strip() == "3 memories: 1 entity"
    code, out = run("explore", "What did Melanie paint?", "-n", "life", "--max-items", "2", "--seeds", "1")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and sunrise in lines[0] and lines[0].endswith("(recall)")
    assert daughter in lines[1] and lines[1].endswith(f"(entity from {sunrise})")
    code, out = run("explore", "What did Melanie paint?", "-n", "life", "--seeds", "1", "--json")
    hits = json.loads(out)["hits"]
    assert code == 0 and hits[1]["memory"]["id"] == daughter and hits[1]["path"][0]["from"] == sunrise


def test_ripple_lists_then_flags_what_was_derived() -> None:
    (fact,) = _seed([NewMemory(FACTS[0])])
    (summary,) = _seed([NewMemory("In short: a sunrise.", metadata={"derived_from": [fact]})])
    code, out = run("ripple", fact)
    assert code == 0 and out.strip() == f"{summary}  derived of {fact}  In short: a sunrise."
    code, out = run("ripple", fact, "--apply", "--json")
    body = json.loads(out)
    assert code == 0 and body["applied"] is True and body["dependants"][0]["flagged"] is True
    with Engine.open() as engine:
        assert engine.get(summary).metadata["needs_review"] == fact


def test_bad_input_is_refused_with_its_code() -> None:
    code, out = run("explore", "q", "-n", "life", "--max-hops", "9", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    code, out = run("weave", "-n", "", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    code, out = run("ripple", "0b1c6f53-3c2e-4d0e-9d59-1d2a1f4e0c11", "--json")
    assert code != 0 and json.loads(out)["error"]["code"] == "not_found"
