"""The root Typer app: ``--version`` and shell completion.

Command modules import nothing heavy at their top: the engine (numpy, the ONNX runtime), the server and
the MCP SDK load inside the commands that use them, so ``--help`` and local commands start fast.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from ..errors import NotConfigured
from .render import fail, say

app = typer.Typer(
    name="memorylayer",
    help="Memory for AI agents: remember, recall, serve, share.\n\n"
    "Exit status: 0 ok, 1 error, 2 bad input, 3 not found, 4 auth, 5 network, 6 integrity, 7 storage, "
    "8 address in use (docs/cli.md).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        say("memorylayer ", __version__)
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    del version  # handled by its eager callback


def needs_extra(extra: str, exc: ModuleNotFoundError, as_json: bool = False) -> NoReturn:
    """Exit with an install hint when a command's optional dependencies are missing."""
    from .._version import DISTRIBUTION

    if exc.name is None or exc.name.split(".")[0] == "memorylayer":
        raise exc  # a broken install or a bug, not a missing extra
    message = (
        f"this command needs the [{extra}] extra ({exc.name} is not installed): pip install '{DISTRIBUTION}[{extra}]'"
    )
    fail(NotConfigured(message), as_json)
