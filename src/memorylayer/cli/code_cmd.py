"""``memorylayer code ingest|locate``, ``domain set|show``, ``prove`` and ``audit``: one engine call each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InvalidRequest
from .memory import Namespace, engine_for, progress_bar
from .options import Database, Home, Json
from .render import emit_json, say, table, write
from .root import app

code_app = typer.Typer(help="Code memory: index a source tree, then ask where something lives.", no_args_is_help=True)
domain_app = typer.Typer(help="A namespace's typed vocabulary and rules, for prove and audit.", no_args_is_help=True)
app.add_typer(code_app, name="code")
app.add_typer(domain_app, name="domain")
TimeoutMs = Annotated[int, typer.Option("--timeout-ms", help="Solver time limit in ms (1-60000).")]


def _json_arg(raw: str, what: str) -> Any:
    """A JSON document given inline or as @file."""
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


@code_app.command("ingest")
def code_ingest(
    root: Annotated[Path, typer.Argument(help="Folder to index (its .gitignore files are respected).")] = Path("."),
    namespace: Namespace = "code",
    prune: Annotated[bool, typer.Option(help="Forget files of the namespace no longer in the folder.")] = True,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Index a source folder: files and their symbols; re-running touches only what changed.

    Example: memorylayer code ingest . -n myrepo
    """
    with engine_for(home, database, as_json) as engine, progress_bar("indexing") as progress:
        summary = engine.code_ingest(namespace, root=root, prune=prune, progress=progress)
    if as_json:
        emit_json(summary.to_dict())
        return
    s = summary
    say(
        f"{s.files} files ({s.added} new, {s.changed} changed, {s.unchanged} unchanged), {s.removed} removed, "
        f"{s.symbols} symbols written in {s.seconds:.1f}s"
    )
    skipped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in s.skipped.to_dict().items() if n)
    if skipped:
        say(f"skipped: {skipped}")


@code_app.command("locate")
def code_locate(
    query: Annotated[str, typer.Argument(help='A question such as "where are refunds handled?".')],
    namespace: Namespace = "code",
    top_k: Annotated[int, typer.Option(help="How many places (1-1000).")] = 5,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Where QUERY is answered: path:lines, the symbol and a snippet, best first.

    Example: memorylayer code locate "where is the cursor encoded" -n myrepo
    """
    with engine_for(home, database, as_json) as engine:
        found = engine.code_locate(namespace, query, top_k=top_k)
    if as_json:
        emit_json({"locations": [loc.to_dict() for loc in found]})
        return
    rows = [
        [f"{loc.score:.3f}", f"{loc.path}:{loc.start_line}-{loc.end_line}", loc.symbol or "", loc.kind] for loc in found
    ]
    table(["score", "location", "symbol", "kind"], rows, right=["score"])


@domain_app.command("set")
def domain_set(
    domain: Annotated[str, typer.Argument(help="The domain as JSON, or @path/to/domain.json.")],
    namespace: Namespace = "default",
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Declare (or replace) the namespace's entities, attributes and rules (docs/reasoning.md)."""
    with engine_for(home, database, as_json) as engine:
        parsed = engine.set_domain(namespace, _json_arg(domain, "domain"))
    if as_json:
        emit_json({"domain": parsed.to_dict()})
    else:
        say(f"domain of {namespace}: {len(parsed.entities)} entities, {len(parsed.rules)} rules")


@domain_app.command("show")
def domain_show(namespace: Namespace = "default", home: Home = None, database: Database = None) -> None:
    """Print the namespace's domain as JSON."""
    with engine_for(home, database, True) as engine:
        emit_json({"domain": engine.domain(namespace).to_dict()})


@app.command()
def prove(
    statement: Annotated[str, typer.Argument(help='JSON: {"entity", "instance"?, "assert"}, or @file.')],
    namespace: Namespace = "default",
    timeout_ms: TimeoutMs = 5_000,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Check a statement against the domain's rules and the bound facts: proved, refuted or unknown.

    Example: memorylayer prove '{"entity": "service", "instance": "web", "assert": "replicas >= 2"}' -n ops
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.prove(namespace, _json_arg(statement, "statement"), timeout_ms=timeout_ms)
    if as_json:
        emit_json(result.to_dict())
        return
    say(f"{result.status}: {result.statement}")
    if result.counterexample is not None:
        say("counterexample: " + ", ".join(f"{k}={v}" for k, v in result.counterexample.items()))
    for rule in result.rules:
        write(f"  rule {rule}")
    for fact in result.facts:
        write(f"  fact {fact.key or fact.memory_id} = {fact.text}")
    if result.reason:
        say(result.reason)


@app.command()
def audit(
    namespace: Namespace = "default",
    timeout_ms: TimeoutMs = 5_000,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Find facts and rules of the namespace that cannot all hold (each conflict its unsat core)."""
    with engine_for(home, database, as_json) as engine:
        result = engine.audit(namespace, timeout_ms=timeout_ms)
    if as_json:
        emit_json(result.to_dict())
        return
    state = "consistent" if result.consistent else f"{len(result.conflicts)} conflict(s)"
    say(f"{state}: {result.facts_checked} facts, {result.rules_checked} rule instances checked")
    for conflict in result.conflicts:
        write(f"- rules {', '.join(conflict.rules) or '(none)'}")
        for fact in conflict.facts:
            write(f"    {fact.key or fact.memory_id} = {fact.text}")
    for item in result.unbound:
        write(f"  not bound: {item['key']} = {item['value']!r} ({item['reason']})")
