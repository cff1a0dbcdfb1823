"""What the CLI prints for a person: stored text never breaks or alters it, errors keep their code,
exit statuses follow docs/cli.md's one table, and option values outside a choice are refused."""

from __future__ import annotations

import ast
import json
import re
import socket
from pathlib import Path
from typing import get_args

from typer.testing import CliRunner

from memorylayer import limits
from memorylayer.cli import app
from memorylayer.cli import memory as memory_commands
from memorylayer.engine import core
from memorylayer.errors import error_classes

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # one table row per memory, so a value is never folded across lines

HOSTILE = [
    "see [bold]this[/bold] and [/red]",
    "loop over arr[i] and [link=file:///etc/passwd]x[/link]",
    "emoji codes stay :smile: and markup \\[escaped]",
    "ansi \x1b[31mred\x1b[0m then \x1b]0;title\x07 and \x1b[2J",
    "carriage\rreturn, back\bspace, bell\x07, del\x7f, c1\x9b, rtl \u202egnp.exe",
]
#: How each value prints: markup literally, control characters as visible escapes.
SHOWN = [
    "see [bold]this[/bold] and [/red]",
    "loop over arr[i] and [link=file:///etc/passwd]x[/link]",
    "emoji codes stay :smile: and markup \\[escaped]",
    "ansi \\x1b[31mred\\x1b[0m then \\x1b]0;title\\x07 and \\x1b[2J",
    "carriage\\x0dreturn, back\\x08space, bell\\x07, del\\x7f, c1\\x9b, rtl \\u202egnp.exe",
]


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_shown_literally(out: str, shown_values: list[str] = SHOWN) -> None:
    assert "\x1b" not in out and "\r" not in out and "\b" not in out and "\u202e" not in out
    for shown in shown_values:
        assert shown in out, (shown, out)


def test_markup_brackets_ansi_and_control_characters_print_as_stored_in_every_command() -> None:
    ids = []
    for value in HOSTILE:
        code, out, _ = cli("remember", value, "-n", "[red]ns[/red]", "--json")
        assert code == 0, out
        ids.append(json.loads(out)["memories"][0]["id"])
    code, out, err = cli("list")
    assert code == 0, err
    assert_shown_literally(out)
    assert "[red]ns[/red]" in out
    code, out, err = cli("search", "see this loop over arr ansi red carriage", "--top-k", "10")
    assert code == 0, err
    assert_shown_literally(out)
    for memory_id, shown in zip(ids, SHOWN, strict=True):
        code, out, err = cli("get", memory_id)
        assert code == 0 and shown in out and "\x1b" not in out, err
    code, out, err = cli("recall", "see this bold", "-n", "[red]ns[/red]", "--max-items", "10", "--max-tokens", "2000")
    assert code == 0 and "see [bold]this[/bold] and [/red]" in out, err
    assert "\x1b" not in out
    code, out, _ = cli("list", "--json")
    assert sorted(m["value"] for m in json.loads(out)["memories"]) == sorted(HOSTILE)  # --json is exact


def test_history_keys_and_metadata_with_markup_print_literally() -> None:
    for value in HOSTILE:
        assert cli("remember", value, "--key", "[b]k[/b]", "--metadata", '{"[x]": "[/y]"}')[0] == 0
    code, out, err = cli("history", "--key", "[b]k[/b]")
    assert code == 0, err
    assert_shown_literally(out, SHOWN[:-1])  # the last value is the live one, not history
    code, out, err = cli("get", "--key", "[b]k[/b]")
    assert code == 0 and "[b]k[/b]" in out and SHOWN[-1] in out, err
    code, out, _ = cli("namespaces")
    assert code == 0 and "default" in out


def test_the_error_line_shows_its_code_whatever_the_message_holds() -> None:
    code, out, err = cli("get", "[/x]")
    assert code == 3 and out == ""
    assert err.strip() == "error [not_found] memory [/x] does not exist"
    code, _, err = cli("get", "--key", "[k]", "-n", "[/ns]")
    assert code == 3 and err.strip() == "error [not_found] no memory under key '[k]' in namespace '[/ns]'"
    code, _, err = cli("get", "\x1b[31m")  # refused with the id quoted: the escape shows, it does not act
    assert code == 2 and err.startswith("error [invalid_request]") and "\x1b" not in err
    code, _, err = cli("remember", "x", "--metadata", "[bold]")
    assert code == 2 and err.startswith("error [invalid_request] metadata: not valid JSON")


def test_unknown_ids_and_keys_are_not_found_in_every_command() -> None:
    ghost = "00000000-0000-4000-8000-000000000000"
    for args in (
        ["get", ghost],
        ["get", "--key", "ghost"],
        ["forget", ghost],
        ["forget", "--key", "ghost"],
        ["history", ghost],
        ["history", "--key", "ghost"],
        ["admin", "revoke-key", ghost],
        ["admin", "list-keys", "nobody@example.com"],
        ["admin", "set-plan", "nobody@example.com", "pro"],
    ):
        code, out, _ = cli(*args, "--json")
        assert code == 3 and json.loads(out)["error"]["code"] == "not_found", args
    code, _, err = cli("history", ghost)
    assert code == 3 and err.startswith("error [not_found]")


def test_history_of_a_memory_that_never_changed_is_empty_and_succeeds() -> None:
    code, out, _ = cli("remember", "stable", "--json")
    memory_id = json.loads(out)["memories"][0]["id"]
    code, out, _ = cli("history", memory_id, "--json")
    assert code == 0 and json.loads(out) == {"history": []}


def test_a_busy_port_is_address_in_use_with_its_own_exit_status(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, out, err = cli("serve", "--port", str(port), "--home", str(tmp_path))
    assert code == 8 and "Traceback" not in err
    assert (
        err.strip() == f"error [address_in_use] 127.0.0.1:{port} is in use by another process; stop it or pass --port"
    )


def test_option_values_outside_their_choices_are_refused_by_the_parser() -> None:
    for args in (
        ["serve", "--log-level", "bogus"],
        ["recall", "q", "--threshold", "loose"],
        ["list", "--source", "[red]x"],
        ["list", "--order-by", "value"],
        ["list", "--order-dir", "sideways"],
        ["serve", "--port", "70000"],
    ):
        code, out, err = cli(*args)
        assert code == 2 and "Traceback" not in err and "Invalid value" in err, args
    assert set(get_args(memory_commands.Threshold)) == set(limits.THRESHOLDS)
    assert set(get_args(memory_commands.Source)) == set(core.SOURCES)
    assert set(get_args(memory_commands.OrderBy)) == set(core.ORDER_BY)


def _documented_exit_statuses() -> dict[str, int]:
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    section = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, int] = {}
    for row in re.findall(r"^\| (\d+) \| [^|]+ \| ([^|]*) \|$", section, re.M):
        for code in filter(None, (c.strip() for c in row[1].split(","))):
            assert code not in documented, f"{code} is listed twice"
            documented[code] = int(row[0])
    return documented


def test_the_exit_status_table_in_docs_matches_the_error_tree() -> None:
    actual = {code: cls.exit_code for code, cls in error_classes().items()}
    assert _documented_exit_statuses() == actual
    summary = " ".join(cli("--help")[1].split("Exit status:", 1)[1].split())
    for status in sorted(set(actual.values())):
        assert f" {status} " in summary, status


def test_every_human_line_goes_through_the_render_module() -> None:
    """No other CLI module prints, builds a console or writes to stdout/stderr itself."""
    offenders = []
    for path in sorted((ROOT / "src/memorylayer/cli").glob("*.py")):
        if path.name == "render.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in ("print", "typer.echo", "typer.secho", "Console") or name.endswith(
                    (".print", "stdout.write", "stderr.write")
                ):
                    offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []


def test_version_completion_and_examples_in_help() -> None:
    from memorylayer import __version__

    assert cli("--version")[1].strip() == f"memorylayer {__version__}"
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="memorylayer")
    assert shown.exit_code == 0 and "_memorylayer_completion" in shown.stdout, shown.output
    for command in ("remember", "recall", "search", "list", "serve"):
        assert "Example" in cli(command, "--help")[1], command
