"""Registry commands: login, logout, whoami, init, publish, add, remove, search-packages, info,
yank, unyank, deprecate and dist-tag. The registry client loads inside each command (start-up time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ..errors import MemoryLayerError
from .options import Database, Home, Json, load_settings
from .render import emit_json, fail, note, say, table
from .root import app

if TYPE_CHECKING:
    from ..registry.client import RegistryClient

Registry = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar="MEMORYLAYER_REGISTRY",
        show_envvar=True,
        help="Registry URL (default: config, else the local server).",
    ),
]
Package = Annotated[str, typer.Argument(help="@scope/name")]
Bump = Literal["patch", "minor", "major"]


@contextmanager
def registry_client(registry: str | None, as_json: bool, *, need_key: bool = True) -> Iterator[RegistryClient]:
    """A client of the chosen registry; any MemoryLayerError becomes its stable exit code."""
    from ..registry.client import RegistryClient

    try:
        client = RegistryClient.connect(registry, load_settings(None, None), need_key=need_key)
    except MemoryLayerError as error:
        fail(error, as_json)
    try:
        yield client
    except MemoryLayerError as error:
        fail(error, as_json)
    finally:
        client.close()


@app.command()
def login(
    token: Annotated[
        str, typer.Option("--token", help="API key (wm_live_…) from `admin create-key` or the dashboard.")
    ],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Check a key against the registry, then save it to auth.json (mode 0600).

    Example: memorylayer login --token wm_live_…
    """
    from ..registry.client import RegistryClient, registry_url, save_login

    try:
        url = registry_url(registry, load_settings(None, None))
        with RegistryClient(url, token) as client:
            me = client.whoami()
        path = save_login(url, token, me["username"])
    except MemoryLayerError as error:
        fail(error, as_json)
    if as_json:
        emit_json({"username": me["username"], "registry": url, "key_prefix": me["keyPrefix"], "path": str(path)})
    else:
        say("logged in to ", url, " as ", me["username"], " (key saved to ", str(path), ")")


@app.command()
def logout(registry: Registry = None, as_json: Json = False) -> None:
    """Remove the saved key of the registry."""
    from ..registry.client import forget_login, registry_url

    try:
        url = registry_url(registry, load_settings(None, None))
        removed = forget_login(url)
    except MemoryLayerError as error:
        fail(error, as_json)
    if as_json:
        emit_json({"registry": url, "removed": removed})
    else:
        say("logged out of " if removed else "no saved key for ", url)


@app.command()
def whoami(registry: Registry = None, as_json: Json = False) -> None:
    """Show the username, key prefix and registry URL in use."""
    with registry_client(registry, as_json) as client:
        me = client.whoami()
        out = {"username": me["username"], "registry": client.url, "key_prefix": me["keyPrefix"], "orgs": me["orgs"]}
    if as_json:
        emit_json(out)
        return
    say(me["username"], "  ", me["keyPrefix"], "…  ", client.url)
    for org in me["orgs"]:
        say("  @", org["slug"], " (", org["role"], ")")


@app.command()
def init(
    name: Annotated[str | None, typer.Option(help="Package name (default @<username>/<directory name>).")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Local namespace to publish.")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write memory.json.")] = Path("."),
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Write memory.json for a package of one namespace.

    Example: memorylayer init -n work
    """
    from ..registry import names
    from ..registry.local import MANIFEST_FILE, new_manifest

    path = directory.resolve() / MANIFEST_FILE
    try:
        if path.exists():
            from ..errors import Conflict

            raise Conflict(f"{path} already exists")
        if name is None:
            with registry_client(registry, as_json) as client:
                user = client.whoami()["username"]
            name = f"@{user}/{names.slugify(directory.resolve().name, 'package')}"
        manifest = new_manifest(name, namespace or names.package_name(name)[1])
        from ..files import write_private

        write_private(path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        path.chmod(0o644)  # a manifest is meant to be shared and committed
    except MemoryLayerError as error:
        fail(error, as_json)
    if as_json:
        emit_json({"path": str(path), "manifest": manifest})
    else:
        say("wrote ", str(path), " for ", manifest["name"], " (namespace ", manifest["memorylayer"]["namespace"], ")")


@app.command()
def publish(
    bump: Annotated[Bump | None, typer.Option(help="Raise the version in memory.json first.")] = None,
    tag: Annotated[str | None, typer.Option(help="Dist-tag to point at this version (default latest).")] = None,
    access: Annotated[Literal["public", "private"] | None, typer.Option(help="Who may install it.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Pack and show, upload nothing.")] = False,
    directory: Annotated[Path, typer.Option("--dir", help="Directory holding memory.json.")] = Path("."),
    registry: Registry = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Pack the namespace of memory.json and publish it as a new, immutable version.

    Examples: memorylayer publish; memorylayer publish --bump patch --tag beta; memorylayer publish --dry-run
    """
    import tempfile

    from ..registry import names
    from ..registry.local import MANIFEST_FILE, load_manifest, namespace_of, pack
    from .memory import engine_for, progress_bar

    path = directory.resolve() / MANIFEST_FILE
    with engine_for(home, database, as_json) as engine:
        manifest = load_manifest(path)
        if bump:
            manifest["version"] = names.bump(manifest["version"], bump)
        if tag is not None:
            names.tag(tag)
        with tempfile.TemporaryFile() as tarball:
            if not as_json:
                note("packing ", namespace_of(manifest), " …")
            packed = pack(engine, manifest, tarball)
            size = tarball.tell()
            out: dict[str, Any] = {
                "name": manifest["name"],
                "version": manifest["version"],
                "memories": packed["memorylayer"]["memories"],
                "size": size,
                "dry_run": dry_run,
            }
            if not dry_run:
                tarball.seek(0)
                with registry_client(registry, as_json) as client, progress_bar("uploading") as bar:
                    published = client.publish(
                        manifest["name"], manifest["version"], tarball, tag=tag, access=access, progress=bar
                    )
                out["integrity"] = published["integrity"]
                if bump:  # the bumped version is written back only once it is published
                    from ..files import write_private

                    write_private(path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
                    path.chmod(0o644)
    if as_json:
        emit_json(out)
    elif dry_run:
        say("would publish ", out["name"], "@", out["version"], f": {out['memories']} memories, {size:,} bytes")
    else:
        say("published ", out["name"], "@", out["version"], f" ({out['memories']} memories, {size:,} bytes)")
        say("integrity ", out["integrity"])


@app.command()
def add(
    spec: Annotated[str, typer.Argument(help="@scope/name, @scope/name@1.2.0, @scope/name@^1.0 or @scope/name@beta")],
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Install into (default: the package name).")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Share token from `memorylayer share`.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Resolve, download and check; write nothing.")] = False,
    registry: Registry = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Install a package (and its dependencies, first) into a local namespace.

    Examples: memorylayer add @acme/react-patterns; memorylayer add @acme/kb@^1.2 -n team --dry-run
    """
    from ..registry.local import install
    from .memory import engine_for, progress_bar

    with engine_for(home, database, as_json) as engine, registry_client(registry, as_json, need_key=False) as client:
        with progress_bar("installing") as bar:
            report = install(
                engine,
                client,
                spec,
                namespace=namespace,
                share=key,
                dry_run=dry_run,
                progress=(lambda _label, done, total: bar(done, total)) if bar else None,
            )
    if as_json:
        emit_json({"installed": [r.to_dict() for r in report]})
        return
    for r in report:
        if r.deprecated:
            note(("warning", "yellow"), f" {r.name}@{r.version} is deprecated: {r.deprecated}")
        where = f"{r.name}@{r.version} -> {r.namespace}"
        if r.status == "unchanged":
            say(where, ": already installed, nothing to do")
        elif r.status == "dry_run":
            say(where, f": would install up to {r.memories} memories (dry run)")
        else:
            say(where, f": {r.added} added, {r.skipped} skipped, {r.merged} merged")
        if r.reembedded and r.status == "installed":
            note("  (made by another embedding model: re-embedded here)")


@app.command()
def remove(
    package: Package,
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Only from this namespace.")] = None,
    home: Home = None,
    database: Database = None,
    as_json: Json = False,
) -> None:
    """Delete the memories a package installed (they carry its name in their metadata)."""
    from ..registry.local import remove as remove_package
    from .memory import engine_for

    with engine_for(home, database, as_json) as engine:
        removed = remove_package(engine, package, namespace)
    if as_json:
        emit_json({"removed": [{"namespace": ns, "memories": n} for ns, n in removed]})
        return
    for ns, n in removed:
        say("removed ", package, " from ", ns, f" ({n} memories)")


@app.command("search-packages")
def search_packages(
    text: Annotated[str, typer.Argument(help="Free text over descriptions and keywords.")] = "",
    keyword: Annotated[str | None, typer.Option(help="Only packages with this keyword.")] = None,
    author: Annotated[str | None, typer.Option(help="Only packages of this user or org.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-100).")] = 20,
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Find packages on the registry (`search` searches your memories).

    Example: memorylayer search-packages "react hooks" --keyword typescript
    """
    with registry_client(registry, as_json, need_key=False) as client:
        found = client.search(text, keyword, author, limit)
    if as_json:
        emit_json({"packages": found})
        return
    rows = [[p["name"], p["version"] or "", p["description"], ", ".join(p["keywords"])] for p in found]
    table(["package", "latest", "description", "keywords"], rows)


@app.command()
def info(
    package: Package,
    key: Annotated[str | None, typer.Option("--key", help="Share token.")] = None,
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Details, dist-tags and every version (yanked and deprecated ones marked)."""
    with registry_client(registry, as_json, need_key=False) as client:
        details = client.info(package, key)
    if as_json:
        emit_json({"package": details})
        return
    say(details["name"], "  ", "private" if details["private"] else "public", "  by ", details["publisher"])
    if details["description"]:
        say(details["description"])
    if details["keywords"]:
        say("keywords: ", ", ".join(details["keywords"]))
    say("dist-tags: ", ", ".join(f"{t}: {v}" for t, v in details["distTags"].items()) or "none")
    rows = []
    for v in details["versions"]:
        marks = [*(["yanked"] if v["yanked"] else []), *([f"deprecated: {v['deprecated']}"] if v["deprecated"] else [])]
        rows.append([v["version"], str(v["memoryCount"]), v["publishedAt"] or "", "; ".join(marks)])
    table(["version", "memories", "published", "notes"], rows, right=["memories"])


def _version_command(package: str, version: str, registry: str | None, as_json: bool, action: str, **kw: Any) -> None:
    with registry_client(registry, as_json) as client:
        if action == "deprecate":
            result = client.deprecate(package, version, kw["message"])
        else:
            result = client.yank(package, version, yanked=action == "yank", reason=kw.get("reason"))
    if as_json:
        emit_json(result)
        return
    entry = result["version"]
    if action == "deprecate":
        say(
            package,
            "@",
            version,
            ": deprecated: " + entry["deprecated"] if entry["deprecated"] else ": no longer deprecated",
        )
    else:
        say(package, "@", version, ": yanked" if entry["yanked"] else ": unyanked")


Version = Annotated[str, typer.Argument(help="The exact version, e.g. 1.2.0.")]


@app.command()
def yank(
    package: Package,
    version: Version,
    reason: Annotated[str | None, typer.Option(help="Shown to those who try to install it.")] = None,
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Yank a version: it stays in `info` but can no longer be installed."""
    _version_command(package, version, registry, as_json, "yank", reason=reason)


@app.command()
def unyank(package: Package, version: Version, registry: Registry = None, as_json: Json = False) -> None:
    """Make a yanked version installable again."""
    _version_command(package, version, registry, as_json, "unyank")


@app.command()
def deprecate(
    package: Package,
    version: Version,
    message: Annotated[str, typer.Argument(help="Why, and what to use instead (empty lifts it).")],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Deprecate a version: still installable, with a warning."""
    _version_command(package, version, registry, as_json, "deprecate", message=message)


tag_app = typer.Typer(help="Dist-tags: names (latest, beta) pointing at versions.", no_args_is_help=True)
app.add_typer(tag_app, name="dist-tag")


def _tags(tags: dict[str, str], as_json: bool) -> None:
    if as_json:
        emit_json({"dist_tags": tags})
    else:
        for t, v in tags.items():
            say(t, ": ", v)


@tag_app.command("add")
def tag_add(
    package: Package,
    version: Version,
    tag: Annotated[str, typer.Argument(help="Tag name, e.g. beta.")],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Point TAG at VERSION."""
    with registry_client(registry, as_json) as client:
        tags = client.set_tag(package, tag, version)
    _tags(tags, as_json)


@tag_app.command("rm")
def tag_rm(
    package: Package,
    tag: Annotated[str, typer.Argument(help="Tag name.")],
    registry: Registry = None,
    as_json: Json = False,
) -> None:
    """Remove a dist-tag (latest cannot be removed)."""
    with registry_client(registry, as_json) as client:
        tags = client.remove_tag(package, tag)
    _tags(tags, as_json)


@tag_app.command("ls")
def tag_ls(package: Package, registry: Registry = None, as_json: Json = False) -> None:
    """List a package's dist-tags."""
    with registry_client(registry, as_json, need_key=False) as client:
        tags = client.info(package)["distTags"]
    _tags(tags, as_json)
