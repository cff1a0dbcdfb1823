"""``memorylayer admin``: operator commands that need no email (accounts, plans, keys)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..errors import MemoryLayerError
from . import shapes
from .options import Database, Home, Json, load_settings
from .render import emit_json, fail, say
from .root import app

if TYPE_CHECKING:
    from ..store.accounts import AccountStore

admin_app = typer.Typer(help="Operator commands for a server: accounts, plans and keys.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@contextmanager
def _store(home: Path | None, database: str | None, as_json: bool) -> Iterator[tuple[AccountStore, Any]]:
    """The account store of the database ``serve`` would use with the same ``--home``/``--database``."""
    from ..files import secure_home
    from ..server.settings import ServerSettings
    from ..store import open_backend

    try:
        settings = load_settings(home, database)
        server = ServerSettings.load(settings.home)
        if not settings.database:
            secure_home(settings.home)
        backend = open_backend(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    except MemoryLayerError as error:
        fail(error, as_json)
    try:
        yield backend.accounts, server
    except MemoryLayerError as error:
        fail(error, as_json)
    finally:
        backend.close()


@admin_app.command("create-account")
def create_account(
    email: str = typer.Argument(..., help="Email of the new account."),
    plan: str = typer.Option("", help="Plan tier (default: the configured default plan)."),
    key: bool = typer.Option(True, "--key/--no-key", help="Also mint a full-scope key and print it once."),
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Create an account (and a full-scope API key) without the email code flow.

    Example: memorylayer admin create-account you@example.com --plan pro
    """
    from ..server import admin

    with _store(home, database, as_json) as (store, server):
        account = admin.create_account(store, server, email, plan=plan or None)
        raw = admin.create_key(store, account.id)[1] if key else None
    if as_json:
        emit_json({"account": shapes.account(account), "api_key": raw})
        return
    say("account ", account.id, " (", account.email, ", plan ", account.plan_tier, ")")
    if raw:
        say("api key (shown once): ", raw)


@admin_app.command("list-accounts")
def list_accounts(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """List accounts and containers."""
    with _store(home, database, as_json) as (store, _):
        accounts = store.list_accounts()
    if as_json:
        emit_json({"accounts": [shapes.account(a) for a in accounts]})
        return
    for a in accounts:
        parent = f" container of {a.parent_account_id}" if a.parent_account_id else ""
        say(a.id, "  ", a.email, "  ", a.plan_tier, parent)


@admin_app.command("set-plan")
def set_plan(
    account: str = typer.Argument(..., help="Account id or email."),
    plan: str = typer.Argument(..., help="Plan tier (free, basic, pro, team, enterprise or a configured one)."),
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Move an account and its containers to a plan, applying its limits."""
    from ..server import admin

    with _store(home, database, as_json) as (store, server):
        updated = admin.set_plan(store, server, account, plan)
    if as_json:
        emit_json({"account": shapes.account(updated)})
    else:
        say(updated.email, ": plan ", updated.plan_tier, f", memory limit {updated.memory_limit}")


@admin_app.command("create-key")
def create_key(
    account: str = typer.Argument(..., help="Account or container id, or account email."),
    scopes: str = typer.Option(
        "",
        help="Comma-separated scopes (default: all three for an account, memory:read,memory:write for a "
        "container, which may never hold account:admin).",
    ),
    name: str = typer.Option("", help="Label shown by whoami."),
    expires_in: int = typer.Option(0, help="Seconds until the key expires (0 = never)."),
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Mint an API key; the raw key is printed once and stored only as a SHA-256 hash."""
    from ..server import admin

    with _store(home, database, as_json) as (store, _):
        key, raw = admin.create_key(
            store, account, scopes=scopes or None, name=name or None, expires_in_s=expires_in or None
        )
    if as_json:
        emit_json({"key": shapes.api_key(key), "api_key": raw})
    else:
        say("key ", key.id, " (", key.scopes, ")")
        say("api key (shown once): ", raw)


@admin_app.command("list-keys")
def list_keys(
    account: str = typer.Argument(..., help="Account id or email."),
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """List an account's keys (prefixes only; raw keys are never stored)."""
    from ..server import admin

    with _store(home, database, as_json) as (store, _):
        keys = store.list_keys(admin.find_account(store, account).id)
    if as_json:
        emit_json({"keys": [shapes.api_key(k) for k in keys]})
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        say(k.id, "  ", k.key_prefix, "…  ", k.scopes, "  ", state)


@admin_app.command("revoke-key")
def revoke_key(
    key_id: str = typer.Argument(..., help="Key id (from list-keys)."),
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Revoke a key; requests with it then answer 401."""
    from ..server import admin

    with _store(home, database, as_json) as (store, _):
        key = admin.revoke_key(store, key_id)
    if as_json:
        emit_json({"key": shapes.api_key(key)})
    else:
        say("revoked ", key.id)
