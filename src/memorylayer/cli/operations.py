"""The memory operations beyond remember and recall (docs/operations.md): each one engine or server call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MemoryLayerError
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
