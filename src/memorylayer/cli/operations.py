"""The memory operations beyond remember and recall (docs/operations.md): each one engine or server call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MemoryLayerError
from ..types import ItemResult, NewMemory
from . import shapes
from .memory import Namespace, Threshold, engine_for
from .options import Database, Home, Json
from .registry import Registry, registry_client
from .render import emit_json, fail, say, table, write
from .root import app


@app.command()
def answer(
    question: Annotated[str, typer.Argument(help="The question to answer from memory.")],
    namespace: Namespace = "default",
    max_items: Annotated[int, typer.Option(help="Rest the answer on at most this many memories (1-50).")] = 8,
    threshold: Annotated[Threshold, typer.Option(help="How relevant evidence must be.")] = "balanced",
    offline: Annotated[
        bool, typer.Option("--offline", help="Answer extractively even with a model configured.")
    ] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Answer QUESTION from memory, citing the memories it rests on, or say it is not in memory.

    With an OpenAI-compatible model configured (llm_base_url) the model answers from the evidence;
    otherwise the shortest span of the best evidence sentence that answers it (a date, a number, a name).

    Example: memorylayer answer "where does Caroline live?" -n friends
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.answer(namespace, question, max_items=max_items, threshold=threshold, offline=offline)
    if as_json:
        emit_json(
            {
                "answer": result.answer,
                "found": result.found,
                "citations": result.citations,
                "method": result.method,
                "context": result.context,
                "evidence": [{**shapes.memory(h.memory), "score": round(h.score, 4)} for h in result.evidence],
            }
        )
        return
    write(result.answer if result.answer is not None else "not in memory")
    for memory_id in result.citations:
        say("  cites ", memory_id)


@app.command("remember-document")
def remember_document(
    path: Annotated[Path, typer.Argument(help="A Markdown or plain-text file (UTF-8, up to 4 MiB).")],
    namespace: Namespace = "default",
    document: Annotated[
        str | None, typer.Option(help="The document's name (its chunks' keys). Default: the file name.")
    ] = None,
    importance: Annotated[float | None, typer.Option(help="0-1, given to every chunk.")] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Store a long document as chunks split on its headings, paragraphs and sentences (remember(chunk)).

    Remembering the same document name again replaces its chunks.

    Example: memorylayer remember-document docs/deploy.md -n ops
    """
    name = document if document is not None else path.name
    with engine_for(home, database, as_json) as engine:
        text = path.read_text(encoding="utf-8")
        result = engine.remember_document(namespace, name, text, importance=importance)
    if as_json:
        emit_json(
            {
                "document": result.document,
                "chunks": [shapes.memory(m) for m in result.chunks],
                "removed": result.removed,
            }
        )
        return
    say(result.document, ": ", str(len(result.chunks)), " chunks (", str(result.removed), " old ones removed)")


@app.command("remember-batch")
def remember_batch(
    path: Annotated[
        Path, typer.Argument(help='JSON Lines: one memory a line, {"value", "key", "importance", "created_at"}.')
    ],
    namespace: Namespace = "default",
    dedup: Annotated[bool, typer.Option(help="--no-dedup keeps every unkeyed value even when it repeats.")] = True,
    partial: Annotated[
        bool, typer.Option("--partial", help="Store the good lines and report each bad one as refused.")
    ] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Store 1-1,000 memories from a JSON Lines file in one transaction, with what became of each line.

    A bad line (its number is given) refuses the whole file and writes nothing; with --partial
    it is refused alone (status refused, its code and message) and the other lines are stored.

    Example: memorylayer remember-batch notes.jsonl -n project --partial
    """
    from dataclasses import replace

    from ..engine.jsonl import parse, parse_each, read_lines

    with engine_for(home, database, as_json) as engine:
        with path.open(encoding="utf-8", errors="surrogateescape") as fp:
            lines = read_lines(fp)
            parsed = list(parse_each(lines, namespace)) if partial else [m for _, m in parse(lines, namespace)]
        items = [replace(m, source="explicit") if isinstance(m, NewMemory) else m for m in parsed]
        result = engine.add_batch(namespace, items, dedup=dedup, partial=partial)
    if as_json:
        results = [_item_json(r) for r in result.items]
        emit_json({"results": results, "memories": [shapes.memory(m) for m in result.memories]})
        return
    rows = [[str(r.index + 1), r.status, r.id, " ".join(r.supersedes)] for r in result.items]
    if any(r.status == "refused" for r in result.items):
        reasons = [f"{r.code}: {r.message}" if r.status == "refused" else "" for r in result.items]
        table(
            ["item", "status", "id", "supersedes", "reason"],
            [[*row, why] for row, why in zip(rows, reasons, strict=True)],
        )
        return
    table(["item", "status", "id", "supersedes"], rows)


def _item_json(r: ItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {"index": r.index, "status": r.status, "id": r.id, "supersedes": r.supersedes}
    if r.status == "refused":
        out.update(id=None, code=r.code, message=r.message)
    return out


@app.command()
def verify(
    statement: Annotated[str, typer.Argument(help="The statement to check against memory.")],
    namespace: Namespace = "default",
    max_items: Annotated[int, typer.Option(help="Check against at most this many memories (1-50).")] = 8,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the offline checks even with a model configured.")
    ] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Check STATEMENT against memory: supported, contradicted or not_enough_information, with the evidence.

    Offline, keyed facts, slots, numbers, dates and negation decide; with an OpenAI-compatible model
    configured (llm_base_url) the model judges.

    Example: memorylayer verify "Caroline lives in Boston" -n friends
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.verify(namespace, statement, max_items=max_items, offline=offline)
    evidence = [{"memory": shapes.memory(e.memory), "check": e.check, "reason": e.reason} for e in result.evidence]
    if as_json:
        emit_json(
            {"statement": result.statement, "verdict": result.verdict, "method": result.method, "evidence": evidence}
        )
        return
    write(result.verdict)
    for e in result.evidence:
        say("  ", e.check, " ", e.memory.id, ": ", e.reason)


@app.command()
def usage(registry: Registry = None, as_json: Json = False) -> None:
    """Show this month's operation budgets of the saved API key on its server (shared by every machine using it).

    Example: memorylayer usage --registry https://memory.example.com
    """
    with registry_client(registry, as_json) as client:
        try:
            budgets: dict[str, Any] = client.budgets()
        except MemoryLayerError as error:
            fail(error, as_json)
    if as_json:
        emit_json({"budgets": budgets})
        return
    say("plan ", budgets["planTier"], ", ", budgets["month"], " (resets ", budgets["resetsAt"], ")")
    rows = [
        [name, str(b["used"]), "unlimited" if b["limit"] is None else str(b["limit"])]
        for name, b in budgets["operations"].items()
    ]
    table(["operation", "used", "limit"], rows)
    advanced = budgets["advancedOperations"]
    say(
        "advanced operations (",
        ", ".join(advanced["operations"]),
        "): ",
        "included" if advanced["allowed"] else "not on this plan",
    )
