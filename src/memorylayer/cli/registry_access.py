"""Who may install and publish: ``share`` (links and collaborators) and ``org`` (members and roles)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from .options import Json
from .registry import Package, Registry, registry_client
from .render import emit_json, say, table
from .root import app

Role = Literal["admin", "member"]


@app.command()
def share(
    package: Package,
    expires: Annotated[
        int | None, typer.Option("--expires", help="Hours the link lives (default 168 = 7 days).")
    ] = None,
    max_uses: Annotated[int | None, typer.Option("--max-uses", help="Installs the link allows.")] = None,
    add: Annotated[str | None, typer.Option("--add", help="Username to add as a collaborator (reader).")] = None,
    remove: Annotated[str | None, typer.Option("--remove", help="Username to remove as a collaborator.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List collaborators and live links.")] = False,
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Create a share link (printing the install command), or manage collaborators.

    Examples: memorylayer share @acme/kb --expires 48 --max-uses 5; memorylayer share @acme/kb --add bob
    """
    with registry_client(registry, as_json) as client:
        if add or remove:
            result = client.collaborator(package, add or remove or "", add=bool(add))
        elif list_:
            result = client.access(package)
        else:
            created = client.share(package, expires, max_uses)
            command = f"memorylayer add {package} --key {created['token']}"
            if as_json:
                emit_json({**created, "command": command})
                return
            link = created["link"]
            uses = f", {link['maxUses']} installs" if link["maxUses"] else ""
            say("share link for ", package, " (expires ", link["expiresAt"], uses, "):")
            say(command)
            return
    _access(result, as_json)


def _access(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    table(["collaborator", "role"], [[c["username"], c["role"]] for c in result["collaborators"]])
    rows = [
        [s["id"][:8], s["expiresAt"], str(s["uses"]), str(s["maxUses"] or "unlimited")] for s in result["shareLinks"]
    ]
    table(["link", "expires", "uses", "max uses"], rows, right=["uses"])


org_app = typer.Typer(help="Orgs: shared scopes (@org/...) with admins and members.", no_args_is_help=True)
app.add_typer(org_app, name="org")


def _org(org: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"org": org})
        return
    say("@", org["slug"], " (", org["displayName"], ")")
    table(["member", "role"], [[m["username"], m["role"]] for m in org["members"]])


Slug = Annotated[str, typer.Argument(help="Org slug (its scope).")]
Username = Annotated[str, typer.Argument(help="The member's registry username (see `whoami`).")]


@org_app.command("create")
def org_create(
    slug: Slug,
    display_name: Annotated[str, typer.Argument(help="Display name.")],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Create an org; you are its first admin.

    Example: memorylayer org create acme "Acme Inc"
    """
    with registry_client(registry, as_json) as client:
        _org(client.create_org(slug, display_name), as_json)


@org_app.command("add-member")
def org_add_member(
    slug: Slug,
    username: Username,
    role: Annotated[Role, typer.Option(help="admin manages members and share links.")] = "member",
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Add a member (admins only)."""
    with registry_client(registry, as_json) as client:
        _org(client.set_member(slug, username, role, add=True), as_json)


@org_app.command("set-role")
def org_set_role(
    slug: Slug,
    username: Username,
    role: Annotated[Role, typer.Argument(help="admin or member.")],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Change a member's role (the last admin stays admin)."""
    with registry_client(registry, as_json) as client:
        _org(client.set_member(slug, username, role, add=False), as_json)


@org_app.command("remove-member")
def org_remove_member(slug: Slug, username: Username, registry: Registry = None, as_json: Json = False) -> None:
    """Remove a member (the last admin cannot be removed)."""
    with registry_client(registry, as_json) as client:
        _org(client.remove_member(slug, username), as_json)
