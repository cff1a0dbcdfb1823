"""Local memory commands: each parses, makes one engine call, and renders."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from ..engine import Engine
from ..errors import InvalidRequest, MemoryLayerError, NotFound
from ..files import storage_error
from ..types import MemoryRecord, iso_ms
from .app import app, emit_json, fail, stderr, stdout
from .options import Database, Home, Json, load_settings

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace (scope) to use.")]
OptionalNamespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Limit to one namespace.")]


@contextmanager
def engine_for(home: Path | None, database: str | None, as_json: bool) -> Iterator[Engine]:
    """Open the engine and turn any MemoryLayerError into its stable exit code."""
    try:
        engine = Engine.open(settings=load_settings(home, database))
    except MemoryLayerError as error:
        fail(error, as_json)
    try:
        yield engine
    except MemoryLayerError as error:
        fail(error, as_json)
    except OSError as error:  # an import or export file that cannot be read or written
        fail(storage_error(error, Path(str(error.filename or "")), "open"), as_json)
    finally:
        engine.close()


def _parse_metadata(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"metadata: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise InvalidRequest("metadata: expected a JSON object")
    return value


def _table(memories: list[MemoryRecord], scores: list[float] | None = None) -> Table:
    table = Table(show_lines=False)
    if scores is not None:
        table.add_column("score", justify="right")
    for name in ("id", "namespace", "key", "value", "updated"):
        table.add_column(name, overflow="fold")
    for i, m in enumerate(memories):
        row = [m.id[:8], m.scope, m.key or "", m.value, iso_ms(m.updated_at) or ""]
        table.add_row(*([f"{scores[i]:.3f}"] if scores is not None else []), *row)
    return table


def _with_progress(label: str) -> tuple[Progress | None, Callable[[int, int], None] | None]:
    if not sys.stderr.isatty():
        return None, None
    progress = Progress(console=stderr, transient=True)
    task = progress.add_task(label, total=None)
    return progress, lambda done, total: progress.update(task, completed=done, total=total)


@app.command()
def remember(
    text: Annotated[str, typer.Argument(help="What to remember.")],
    namespace: Namespace = "default",
    key: Annotated[str | None, typer.Option(help="Store as a keyed fact (re-adding the key updates it).")] = None,
    importance: Annotated[float | None, typer.Option(help="0-1; nudges ranking when the budget is tight.")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object attached to the memory.")] = None,
    extract: Annotated[
        bool, typer.Option(help="Run free text through the extractor instead of storing it as is.")
    ] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Store a memory (verbatim, keyed, or extracted from free text)."""
    with engine_for(home, database, as_json) as engine:
        result = engine.add(
            namespace,
            text,
            key=key,
            importance=importance,
            metadata=_parse_metadata(metadata),
            extract=extract if key is None else None,
        )
        if as_json:
            emit_json(
                {
                    "memories": [m.to_dict() for m in result.memories],
                    "skipped": result.skipped,
                    "superseded": result.superseded,
                }
            )
            return
        for m in result.memories:
            stdout.print(f"stored {m.id}  {m.value}", highlight=False)
        for s in result.skipped:
            stdout.print(f"skipped (already known): {s}", highlight=False)
        if not result.memories and not result.skipped:
            stdout.print("nothing worth remembering was found", highlight=False)


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What the next model call is about.")],
    namespace: Namespace = "default",
    max_items: Annotated[int, typer.Option(help="At most this many memories (1-50).")] = 4,
    max_tokens: Annotated[int, typer.Option(help="Context budget in tokens (10-2000, 4 chars each).")] = 150,
    threshold: Annotated[str, typer.Option(help="strict, balanced or permissive.")] = "balanced",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Print prompt-ready context for QUERY."""
    with engine_for(home, database, as_json) as engine:
        result = engine.recall(namespace, query, max_items=max_items, max_tokens=max_tokens, threshold=threshold)
        if as_json:
            emit_json(
                {
                    "context": result.context,
                    "memories": [m.to_dict() for m in result.memories],
                    "ranking": {"strategy": result.ranking.strategy, "scores": result.ranking.scores},
                }
            )
        else:
            sys.stdout.write(result.context + ("\n" if result.context else ""))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Natural-language query.")],
    namespace: OptionalNamespace = None,
    top_k: Annotated[int, typer.Option(help="Number of results.")] = 5,
    min_score: Annotated[float, typer.Option(help="Minimum score, 0-1.")] = 0.0,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Ranked hybrid search (all namespaces unless --namespace)."""
    with engine_for(home, database, as_json) as engine:
        hits = engine.search(query, scope=namespace, top_k=top_k, min_score=min_score)
        if as_json:
            emit_json([{**h.memory.to_dict(), "score": round(h.score, 4)} for h in hits])
        else:
            stdout.print(_table([h.memory for h in hits], [h.score for h in hits]))


@app.command()
def get(
    memory_id: Annotated[str | None, typer.Argument(help="Memory id.")] = None,
    key: Annotated[str | None, typer.Option(help="Get by key instead of id.")] = None,
    namespace: Namespace = "default",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Show one memory by id, or by --key in a namespace."""
    with engine_for(home, database, as_json) as engine:
        if key is not None:
            record = engine.get_key(namespace, key)
            if record is None:
                raise NotFound(f"no memory under key {key!r} in namespace {namespace!r}")
        elif memory_id is not None:
            record = engine.get(memory_id)
        else:
            raise InvalidRequest("give a memory id or --key")
        if as_json:
            emit_json(record.to_dict())
        else:
            stdout.print(_table([record]))


@app.command("list")
def list_memories(
    namespace: OptionalNamespace = None,
    source: Annotated[str | None, typer.Option(help="explicit, extracted or imported.")] = None,
    contains: Annotated[
        str | None, typer.Option("--search", help="Case-insensitive substring of key or value.")
    ] = None,
    order_by: Annotated[
        str, typer.Option(help="updated_at, created_at, importance or last_recalled_at.")
    ] = "updated_at",
    order_dir: Annotated[str, typer.Option(help="asc or desc.")] = "desc",
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """List memories, newest first, one page at a time."""
    with engine_for(home, database, as_json) as engine:
        page = engine.list(
            scope=namespace,
            source=source,
            search=contains,
            order_by=order_by,
            order_dir=order_dir,
            limit=limit,
            cursor=cursor,
        )
        if as_json:
            emit_json({"memories": [m.to_dict() for m in page.memories], "next_cursor": page.next_cursor})
            return
        stdout.print(_table(page.memories))
        if page.next_cursor:
            stderr.print(f"more: --cursor {page.next_cursor}", highlight=False)


@app.command()
def forget(
    memory_id: Annotated[str | None, typer.Argument(help="Memory id to delete.")] = None,
    key: Annotated[str | None, typer.Option(help="Delete by key instead of id.")] = None,
    namespace: Namespace = "default",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Delete a memory (its text, vector, index entries and history)."""
    with engine_for(home, database, as_json) as engine:
        if key is not None:
            deleted = engine.remove(namespace, key)
        elif memory_id is not None:
            deleted = engine.delete(memory_id)
        else:
            raise InvalidRequest("give a memory id or --key")
        if not deleted:
            raise NotFound("no such memory")
        if as_json:
            emit_json({"status": "deleted"})
        else:
            stdout.print("deleted")


@app.command()
def namespaces(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """Namespaces with their memory count and last update."""
    with engine_for(home, database, as_json) as engine:
        spaces = engine.namespaces()
        if as_json:
            emit_json(
                [{"namespace": n.scope, "count": n.count, "last_updated": iso_ms(n.last_updated)} for n in spaces]
            )
            return
        table = Table("namespace", "count", "last updated")
        for n in spaces:
            table.add_row(n.scope, str(n.count), iso_ms(n.last_updated) or "")
        stdout.print(table)


@app.command()
def history(
    memory_id: Annotated[str | None, typer.Argument(help="Memory id.")] = None,
    key: Annotated[str | None, typer.Option(help="History of a key instead of an id.")] = None,
    namespace: Namespace = "default",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Earlier values of a memory or key, oldest first."""
    with engine_for(home, database, as_json) as engine:
        entries = engine.history(memory_id, scope=namespace if key else None, key=key)
        if as_json:
            emit_json([e.to_dict() for e in entries])
            return
        table = Table("replaced at", "event", "value")
        for e in entries:
            table.add_row(iso_ms(e.replaced_at) or "", e.event, e.value)
        stdout.print(table)


@app.command("export")
def export_memories(
    namespace: OptionalNamespace = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Write memories as JSON Lines."""
    with engine_for(home, database, as_json) as engine:
        if output is None:
            engine.export_jsonl(sys.stdout, scope=namespace)
            return
        with output.open("w", encoding="utf-8") as handle:
            count = engine.export_jsonl(handle, scope=namespace)
        if as_json:
            emit_json({"exported": count, "path": str(output)})
        else:
            stderr.print(f"exported {count} memories to {output}")


@app.command("import")
def import_memories(
    path: Annotated[Path, typer.Argument(help="JSON Lines file ('-' for stdin).")],
    namespace: OptionalNamespace = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Read memories from JSON Lines (keyed lines upsert, exact duplicates are skipped)."""
    with engine_for(home, database, as_json) as engine:
        progress, report = _with_progress("importing")
        try:
            if progress:
                progress.start()
            if str(path) == "-":
                # Bad bytes become lone surrogates, which validation refuses with their line number.
                stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
                count = engine.import_jsonl(stdin, scope=namespace, progress=report)
            else:
                if not path.is_file():
                    raise NotFound(f"{path} does not exist")
                with path.open(encoding="utf-8", errors="surrogateescape") as handle:
                    count = engine.import_jsonl(handle, scope=namespace, progress=report)
        finally:
            if progress:
                progress.stop()
        if as_json:
            emit_json({"imported": count})
        else:
            stdout.print(f"imported {count} memories")


@app.command()
def reindex(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """Re-embed memories whose vectors are missing or from another model."""
    with engine_for(home, database, as_json) as engine:
        progress, report = _with_progress("re-embedding")
        try:
            if progress:
                progress.start()
            count = engine.reindex(progress=report)
        finally:
            if progress:
                progress.stop()
        if as_json:
            emit_json({"reindexed": count, "model": engine.embedder.model_id})
        else:
            stdout.print(f"re-embedded {count} memories with {engine.embedder.model_id}")
