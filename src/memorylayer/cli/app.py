"""The root Typer app and the shared rendering of results and errors."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MemoryLayerError

app = typer.Typer(
    name="memorylayer",
    help="Memory for AI agents: remember, recall, serve, share.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def fail(error: MemoryLayerError, as_json: bool) -> NoReturn:
    """Render ``error`` (as ``{"error": {...}}`` with ``--json``) and exit with its stable code."""
    if as_json:
        emit_json({"error": error.to_dict()})
    else:
        stderr.print(f"[red]error[/red] {escape(f'[{error.code}] {error.message}')}", highlight=False)
    raise typer.Exit(error.exit_code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
