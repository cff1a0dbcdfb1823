"""Bulk commands: export and import JSON Lines, and re-embed with the current model."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import NotFound
from .memory import OptionalNamespace, engine_for, progress_bar
from .options import Database, Home, Json
from .render import emit_json, note, say
from .root import app


@app.command("export")
def export_memories(
    namespace: OptionalNamespace = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Write memories as JSON Lines.

    Example: memorylayer export -n work -o work.jsonl
    """
    with engine_for(home, database, as_json) as engine:
        if output is None:
            engine.export_jsonl(sys.stdout, scope=namespace)
            return
        with output.open("w", encoding="utf-8") as handle:
            count = engine.export_jsonl(handle, scope=namespace)
        if as_json:
            emit_json({"exported": count, "path": str(output)})
        else:
            note(f"exported {count} memories to ", str(output))


@app.command("import")
def import_memories(
    path: Annotated[Path, typer.Argument(help="JSON Lines file ('-' for stdin).")],
    namespace: OptionalNamespace = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Read memories from JSON Lines (keyed lines upsert, exact duplicates are skipped unembedded).

    Example: memorylayer import work.jsonl --home ~/other-home
    """
    with engine_for(home, database, as_json) as engine, progress_bar("importing") as report:
        if str(path) == "-":
            # Bad bytes become lone surrogates, which validation refuses with their line number.
            stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
            count = engine.import_jsonl(stdin, scope=namespace, progress=report)
        else:
            if not path.is_file():
                raise NotFound(f"{path} does not exist")
            with path.open(encoding="utf-8", errors="surrogateescape") as handle:
                count = engine.import_jsonl(handle, scope=namespace, progress=report)
    if as_json:
        emit_json({"imported": count})
    else:
        say(f"imported {count} memories")


@app.command()
def reindex(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """Re-embed memories whose vectors are missing or from another model."""
    with engine_for(home, database, as_json) as engine, progress_bar("re-embedding") as report:
        count = engine.reindex(progress=report)
        model = engine.embedder.model_id
    if as_json:
        emit_json({"reindexed": count, "model": model})
    else:
        say(f"re-embedded {count} memories with ", model)
