"""Local memory commands: each parses, makes one engine call, and renders.

The engine (numpy, the ONNX runtime) is imported when a command opens it, and the model loads only
when a command embeds (remember, recall, search, import, reindex), so ``list`` and ``get`` stay fast.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ..errors import InvalidRequest, MemoryLayerError, NotFound
from ..types import iso_ms
from . import shapes
from .options import Database, Home, Json, load_settings
from .render import emit_json, fail, note, say, table, write
from .root import app

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..engine import Engine
    from ..types import MemoryRecord

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace (scope) to use.")]
OptionalNamespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Limit to one namespace.")]
# The engine's own choices (limits.THRESHOLDS, engine.core.SOURCES and ORDER_BY; a test keeps them equal).
Threshold = Literal["strict", "balanced", "permissive"]
Source = Literal["explicit", "extracted", "imported"]
OrderBy = Literal["updated_at", "created_at", "importance", "last_recalled_at", "expires_at"]
OrderDir = Literal["asc", "desc"]


@contextmanager
def engine_for(home: Path | None, database: str | None, as_json: bool) -> Iterator[Engine]:
    """Open the engine and turn any MemoryLayerError into its stable exit code."""
    from ..engine import Engine
    from ..files import storage_error

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


AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Answer with what was valid at this ISO 8601 time (UTC unless it has an offset)."),
]
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")


def parse_ttl(raw: str | None) -> int | None:
    """Seconds from a duration: ``90`` or ``90s``, ``30m``, ``12h``, ``7d``, ``2w``.

    Raises:
        InvalidRequest: anything else.
    """
    if raw is None:
        return None
    match = _DURATION.match(raw)
    if match is None:
        raise InvalidRequest(f"ttl: bad duration {raw!r} (expected a number with s, m, h, d or w, e.g. 7d)")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def _as_of(raw: str | None) -> int | None:
    from ..engine.jsonl import parse_time

    return parse_time(raw, "as_of")


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


def _memories(memories: list[MemoryRecord], scores: list[float] | None = None, *, expiring: bool = False) -> None:
    last = "expires" if expiring else "updated"
    columns = [*(["score"] if scores is not None else []), "id", "namespace", "key", "value", last]
    rows = []
    for i, m in enumerate(memories):
        row = [m.id[:8], m.scope, m.key or "", m.value, iso_ms(m.expires_at if expiring else m.updated_at) or ""]
        rows.append([f"{scores[i]:.3f}", *row] if scores is not None else row)
    table(columns, rows, right=["score"])


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A transient progress bar on a terminal's stderr; None (no output) when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    from .render import stderr

    progress: Progress = Progress(console=stderr, transient=True)
    task = progress.add_task(label, total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


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
    created_at: Annotated[
        str | None,
        typer.Option(help="When it happened: an ISO 8601 time, UTC unless it has an offset (default: now)."),
    ] = None,
    ttl: Annotated[
        str | None, typer.Option(help="Forget it on its own after this long: 90s, 30m, 12h, 7d, 2w.")
    ] = None,
    expires_at: Annotated[
        str | None, typer.Option(help="Forget it on its own at this ISO 8601 time (not with --ttl).")
    ] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Store a memory (verbatim, keyed, or extracted from free text).

    Examples: memorylayer remember "Deploys run on merge to main" -n work;
    memorylayer remember "Alice Chen" --key name -n user-alice;
    memorylayer remember "I'm allergic to peanuts" --extract -n user-alice;
    memorylayer remember "Parcel arrives Tuesday" --ttl 7d
    """
    with engine_for(home, database, as_json) as engine:
        from ..engine.jsonl import parse_time

        result = engine.add(
            namespace,
            text,
            key=key,
            importance=importance,
            metadata=_parse_metadata(metadata),
            extract=extract if key is None else None,
            created_at=parse_time(created_at, "created_at"),
            expires_at=parse_time(expires_at, "expires_at"),
            ttl=parse_ttl(ttl),
        )
        if as_json:
            emit_json(
                {
                    "memories": [shapes.memory(m) for m in result.memories],
                    "skipped": result.skipped,
                    "superseded": result.superseded,
                }
            )
            return
        for m in result.memories:
            say("stored ", m.id, "  ", m.value)
        for s in result.skipped:
            say("skipped (already known): ", s)
        if not result.memories and not result.skipped:
            say("nothing worth remembering was found")


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What the next model call is about.")],
    namespace: Namespace = "default",
    max_items: Annotated[int, typer.Option(help="At most this many memories (1-50).")] = 4,
    max_tokens: Annotated[
        int, typer.Option(help="Context budget in word pieces of the model's tokenizer (10-2000).")
    ] = 150,
    threshold: Annotated[Threshold, typer.Option(help="How relevant a memory must be.")] = "balanced",
    as_of: AsOf = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Print prompt-ready context for QUERY.

    Example: memorylayer recall "how do deploys work here?" -n work --max-items 3
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.recall(
            namespace, query, max_items=max_items, max_tokens=max_tokens, threshold=threshold, as_of=_as_of(as_of)
        )
        if as_json:
            emit_json(
                {
                    "context": result.context,
                    "memories": [shapes.memory(m) for m in result.memories],
                    "ranking": shapes.ranking(result.ranking),
                }
            )
        else:
            write(result.context)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Natural-language query.")],
    namespace: OptionalNamespace = None,
    top_k: Annotated[int, typer.Option(help="Number of results.")] = 5,
    min_score: Annotated[float, typer.Option(help="Minimum score, 0-1.")] = 0.0,
    as_of: AsOf = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Ranked hybrid search (all namespaces unless --namespace).

    Example: memorylayer search "deploy" --top-k 3 --json
    """
    with engine_for(home, database, as_json) as engine:
        hits = engine.search(query, scope=namespace, top_k=top_k, min_score=min_score, as_of=_as_of(as_of))
        if as_json:
            emit_json({"results": [{**shapes.memory(h.memory), "score": round(h.score, 4)} for h in hits]})
        else:
            _memories([h.memory for h in hits], [h.score for h in hits])


@app.command()
def get(
    memory_id: Annotated[str | None, typer.Argument(help="Memory id.")] = None,
    key: Annotated[str | None, typer.Option(help="Get by key instead of id.")] = None,
    namespace: Namespace = "default",
    as_of: AsOf = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Show one memory by id, or by --key in a namespace (--as-of: the value the key had then).

    Examples: memorylayer get 0b7c…; memorylayer get --key name -n user-alice --json
    """
    with engine_for(home, database, as_json) as engine:
        if key is not None:
            record = engine.get_key(namespace, key, as_of=_as_of(as_of))
            if record is None:
                raise NotFound(f"no memory under key {key!r} in namespace {namespace!r}")
        elif memory_id is not None:
            record = engine.get(memory_id)
        else:
            raise InvalidRequest("give a memory id or --key")
        if as_json:
            emit_json({"memory": shapes.memory(record)})
        else:
            _memories([record])


@app.command("list")
def list_memories(
    namespace: OptionalNamespace = None,
    source: Annotated[Source | None, typer.Option(help="Only memories from this source.")] = None,
    contains: Annotated[
        str | None, typer.Option("--search", help="Case-insensitive substring of key or value.")
    ] = None,
    order_by: Annotated[OrderBy, typer.Option(help="Sort field.")] = "updated_at",
    order_dir: Annotated[OrderDir, typer.Option(help="Sort direction.")] = "desc",
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    expiring: Annotated[
        bool, typer.Option("--expiring", help="Only memories that will expire, soonest first.")
    ] = False,
    as_of: AsOf = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """List memories, newest first, one page at a time.

    Examples: memorylayer list -n work --limit 20; memorylayer list --search deploy --json;
    memorylayer list --expiring; memorylayer list -n user --as-of 2025-03-01
    """
    if expiring and order_by == "updated_at":  # --expiring alone lists what goes first, first
        order_by, order_dir = "expires_at", "asc"
    with engine_for(home, database, as_json) as engine:
        page = engine.list(
            scope=namespace,
            source=source,
            search=contains,
            order_by=order_by,
            order_dir=order_dir,
            limit=limit,
            cursor=cursor,
            expiring=expiring,
            as_of=_as_of(as_of),
        )
        if as_json:
            emit_json({"memories": [shapes.memory(m) for m in page.memories], "next_cursor": page.next_cursor})
            return
        _memories(page.memories, expiring=expiring)
        if page.next_cursor:
            note("more: --cursor ", page.next_cursor)


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
            say("deleted")


@app.command()
def namespaces(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """Namespaces with their memory count and last update."""
    with engine_for(home, database, as_json) as engine:
        spaces = engine.namespaces()
        if as_json:
            emit_json(
                {
                    "namespaces": [
                        {"namespace": n.scope, "count": n.count, "last_updated": iso_ms(n.last_updated)} for n in spaces
                    ]
                }
            )
            return
        rows = [[n.scope, str(n.count), iso_ms(n.last_updated) or ""] for n in spaces]
        table(["namespace", "count", "last updated"], rows)


@app.command()
def history(
    memory_id: Annotated[str | None, typer.Argument(help="Memory id.")] = None,
    key: Annotated[str | None, typer.Option(help="History of a key instead of an id.")] = None,
    namespace: Namespace = "default",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Earlier values of a memory or key, oldest first (exit 3 when the memory does not exist)."""
    with engine_for(home, database, as_json) as engine:
        entries = engine.history(memory_id, scope=namespace if key else None, key=key)
        if not entries:  # no history: say whether the memory exists at all
            if memory_id is not None:
                engine.get(memory_id)
            elif key is not None and engine.get_key(namespace, key) is None:
                raise NotFound(f"no memory under key {key!r} in namespace {namespace!r}")
        if as_json:
            emit_json({"history": [shapes.history_entry(e) for e in entries]})
            return
        table(["replaced at", "event", "value"], [[iso_ms(e.replaced_at) or "", e.event, e.value] for e in entries])
