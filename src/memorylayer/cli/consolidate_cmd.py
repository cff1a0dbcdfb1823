"""``memorylayer consolidate``: merge near duplicates and decay stale memories, or compose (docs/operations.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from .memory import Namespace, engine_for
from .options import Database, Home, Json
from .render import emit_json, say
from .root import app


@app.command()
def consolidate(
    namespace: Namespace = "default",
    compose: Annotated[
        bool, typer.Option("--compose", help="Compile memories recalled together into composites instead.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; write nothing.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Keep each cluster's most informative member even with a model.")
    ] = False,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Merge near-duplicate memories and let stale low-importance ones decay (consolidate), or with
    --compose compile memories often recalled together into one composite (consolidate(compose)).

    Nothing is lost: merged and decayed memories stay in history (memorylayer history ID).

    Example: memorylayer consolidate -n work --dry-run
    """
    with engine_for(home, database, as_json) as engine:
        result = engine.consolidate(namespace, mode="compose" if compose else "merge", dry_run=dry_run, offline=offline)
    if as_json:
        emit_json(result.to_dict())
        return
    verb = "would " if dry_run else ""
    for merge in result.merges:
        into = merge.kept if merge.summary is None else f"the summary {merge.summary!r}"
        say(f"{verb}merge ", ", ".join(merge.members), " into ", str(into))
    for decay in result.decays:
        say(f"{verb}decay ", decay.memory_id, f" (activation {decay.activation:.2f}, importance {decay.importance})")
    for composite in result.composites:
        say(f"{verb}compose ", ", ".join(composite.parts), f" (recalled together {composite.corecalls} times)")
    say(
        f"{result.merged} merged, {len(result.decays)} decayed, {len(result.composites)} composed: ",
        f"{result.live_before} live memories -> {result.live_after}",
        " (dry run: nothing written)" if dry_run else "",
    )
