"""``memorylayer sync push|pull|status``: a namespace, encrypted here, through the registry server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ..types import iso_ms
from .memory import engine_for, progress_bar
from .options import Database, Home, Json
from .registry import Registry, registry_client
from .render import emit_json, say, table
from .root import app

sync_app = typer.Typer(help="Encrypted backup of a namespace: push, pull, status (docs/sync.md).", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

SyncNamespace = Annotated[str, typer.Option("--namespace", "-n", help="The namespace to push or pull.")]
Passphrase = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="MEMORYLAYER_SYNC_KEY",
        help="Encryption passphrase (Argon2id); default: a key derived from your API key. Same on push and pull.",
    ),
]


@sync_app.command("push")
def push(
    namespace: SyncNamespace,
    key: Passphrase = None,
    registry: Registry = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Encrypt the namespace here and make it the remote copy (replacing the previous push).

    Examples: memorylayer sync push -n work; memorylayer sync push -n team --key "our passphrase"
    """
    from ..sync.client import push as do_push

    with engine_for(home, database, as_json) as engine, registry_client(registry, as_json) as client:
        with progress_bar("pushing") as bar:
            out = do_push(engine, client, namespace, key, progress=_bar(bar))
    if as_json:
        emit_json(out)
    else:
        say("pushed ", out["namespace"], f": {out['memories']} memories, {out['size']:,} bytes (encrypted)")


@sync_app.command("pull")
def pull(
    namespace: SyncNamespace,
    key: Passphrase = None,
    registry: Registry = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Download, verify and decrypt the remote copy, then merge it in (never deletes anything here).

    Examples: memorylayer sync pull -n work; memorylayer sync pull -n team --key "our passphrase"
    """
    from ..sync.client import pull as do_pull

    with engine_for(home, database, as_json) as engine, registry_client(registry, as_json) as client:
        with progress_bar("pulling") as bar:
            merged = do_pull(engine, client, namespace, key, progress=_bar(bar))
    if as_json:
        emit_json({"namespace": namespace, **merged.to_dict()})
    else:
        m = merged
        say(f"pulled {namespace}: {m.added} added, {m.updated} updated, {m.unchanged} unchanged, {m.skipped} skipped")


@sync_app.command("status")
def status(registry: Registry = None, as_json: Json = False) -> None:
    """Every namespace pushed with this account: memory count, size and last push time."""
    with registry_client(registry, as_json) as client:
        found = client.sync_status()
    if as_json:
        emit_json({"namespaces": found})
        return
    if not found:
        say("no namespace has been pushed with this account yet")
        return
    rows = [[n["namespace"], str(n["memories"]), f"{n['size']:,}", iso_ms(n["pushedAt"]) or ""] for n in found]
    table(["namespace", "memories", "bytes", "pushed"], rows, right=["memories", "bytes"])


def _bar(bar: Callable[[int, int], None] | None) -> Callable[[str, int, int], None] | None:
    """The progress bar as the sync functions report to it (their stage label is the bar's own)."""
    return None if bar is None else (lambda _label, done, total: bar(done, total))
