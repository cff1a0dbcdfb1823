"""``memorylayer migrate-store``: copy a database to another backend (SQLite to PostgreSQL, or back)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import MemoryLayerError
from .options import Json
from .render import emit_json, fail, note, say
from .root import app


@app.command("migrate-store")
def migrate_store(
    source: Annotated[
        str, typer.Option("--from", help="The database to copy: a SQLite path or URL, or postgresql://.")
    ],
    target: Annotated[str, typer.Option("--to", help="Where to copy it: a postgresql:// URL, or a SQLite path.")],
    as_json: Json = False,
) -> None:
    """Copy accounts, keys, memories, vectors and history into another database, then verify the copy.

    Resumable: run it again after an interruption and it copies only what is missing. Stop the
    servers writing to the source first; the target should be new (docs/deploy.md).

    Example: memorylayer migrate-store --from ~/.local/share/memorylayer/memory.db --to postgresql://ml@db/memorylayer
    """
    from ..store import open_backend
    from ..store.transfer import transfer

    try:
        source_backend = open_backend(source)
        try:
            target_backend = open_backend(target)
            try:
                report = transfer(source_backend, target_backend)
            finally:
                target_backend.close()
        finally:
            source_backend.close()
    except MemoryLayerError as error:
        fail(error, as_json)
    if as_json:
        emit_json({"source": report.source, "target": report.target, "copied": report.copied, "counts": report.counts})
        return
    say(f"copied {report.copied['memories']} memories and {report.copied['wm_accounts']} accounts to ", report.target)
    note(f"verified: {report.counts['memories']} memories, {report.counts['wm_api_keys']} keys, the same in both")
