"""``memorylayer weave``, ``explore`` and ``ripple``: links between memories, and what follows them
(docs/operations.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import limits
from . import shapes
from .memory import Namespace, engine_for
from .options import Database, Home, Json
from .render import emit_json, say
from .root import app


@app.command()
def weave(
    namespace: Namespace = "default", home: Home = None, database: Database = None, as_json: Json = False
) -> None:
    """Rebuild the links between the memories of a namespace: shared names, the same conversation or
    document, supersession and co-recall. explore and ripple follow them.

    Example: memorylayer weave -n friends
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.weave(namespace)
    if as_json:
        emit_json(result.to_dict())
        return
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.links.items())) or "no links"
    say(f"{result.memories} memories: ", kinds)


@app.command()
def explore(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    namespace: Namespace = "default",
    max_items: Annotated[
        int, typer.Option(help="Return at most this many memories (1-50).")
    ] = limits.DEFAULT_MAX_ITEMS,
    seeds: Annotated[int | None, typer.Option(help="Recall hits to start from (default: max-items).")] = None,
    max_hops: Annotated[
        int, typer.Option(help="Links followed from a recall hit (0-4).")
    ] = limits.DEFAULT_EXPLORE_HOPS,
    max_nodes: Annotated[
        int, typer.Option(help="Memories activation may reach (1-500).")
    ] = limits.DEFAULT_EXPLORE_NODES,
    decay: Annotated[
        float, typer.Option(help="Share of activation a link passes on (0-1).")
    ] = limits.DEFAULT_EXPLORE_DECAY,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Recall QUERY, then follow the links from the hits (spreading activation); each memory reached
    is shown with the link that led to it. Run `memorylayer weave` first.

    Example: memorylayer explore "what does Melanie paint?" -n friends
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.explore(
            namespace, query, max_items=max_items, seeds=seeds, max_hops=max_hops, max_nodes=max_nodes, decay=decay
        )
    if as_json:
        emit_json(result.to_dict(shapes.memory))
        return
    for hit in result.hits:
        how = "recall" if not hit.path else f"{hit.path[-1].kind} from {hit.path[-1].source}"
        say(f"{hit.score:.3f} ", hit.memory.id, f"  {hit.memory.value}  ", f"({how})")
    if not result.hits:
        say("nothing found")


@app.command()
def ripple(
    memory_id: Annotated[str, typer.Argument(help="The memory whose dependants to list.")],
    apply: Annotated[bool, typer.Option("--apply", help="Flag each dependant with metadata needs_review.")] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """List the memories derived from MEMORY_ID (consolidation's summaries and composites, and theirs
    in turn) and those only linked to it; --apply flags the derived ones for review.

    Example: memorylayer ripple 5527281f-7c2f-4013-9d77-d5ae3ecbb642 --apply
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.ripple(memory_id, apply=apply)
    if as_json:
        emit_json(result.to_dict(shapes.memory))
        return
    for dependant in result.dependants:
        flag = " (flagged needs_review)" if dependant.flagged else ""
        say(dependant.memory.id, f"  {dependant.kind} of {dependant.via}{flag}  ", dependant.memory.value)
    for related in result.related:
        say(related.memory.id, f"  related ({related.kind})  ", related.memory.value)
    if not result.dependants and not result.related:
        say("nothing depends on ", result.memory_id)
