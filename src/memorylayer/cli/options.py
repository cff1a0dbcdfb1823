"""Options every command that touches a database shares, so each one reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings

Home = Annotated[Path | None, typer.Option("--home", help="MemoryLayer home (default $MEMORYLAYER_HOME).")]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="MEMORYLAYER_DATABASE",
        show_envvar=True,
        help="SQLite file, sqlite:/// or postgresql:// URL (default <home>/memory.db).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def load_settings(home: Path | None, database: str | None) -> Settings:
    """Settings with the command's ``--home`` and ``--database`` applied over env and config.

    Raises:
        InvalidRequest: a bad config file or setting.
    """
    return Settings.load(home=home, database=database or None)
