"""The client side of packages: ``memory.json``, packing a namespace, and installing into one.

Installing resolves the package and its dependencies (dependencies first, a cycle refused), downloads
each tarball into the home while checking its SHA-512 (a mismatch leaves the namespace as it was),
reads it through the safe reader, and upserts its memories in one transaction with the dedup rules
(duplicates skipped, near duplicates merged). Vectors in the package are reused when they were made by
the model this installation uses; otherwise the memories are embedded here. Every installed memory
carries ``package`` and ``package_version`` in its metadata, and the install is recorded so
``remove`` can take exactly those memories out again and re-installing the same version is a no-op.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..errors import (
    DependencyCycle,
    InvalidRequest,
    MemoryLayerError,
    NoMatchingVersion,
    NotFound,
    UnsafeArchive,
    VersionYanked,
)
from ..files import private_dir
from ..store.registry import Install
from ..types import NewMemory, now_ms
from . import names
from .archive import PackedMemory, open_package, write_package
from .client import RegistryClient

if TYPE_CHECKING:
    from ..engine import Engine

MANIFEST_FILE = "memory.json"
#: Memories embedded (when the package's vectors cannot be reused) and prepared per batch.
BATCH = 256
Progress = Callable[[str, int, int], None]


# -- memory.json ---------------------------------------------------------------------------------
def new_manifest(name: str, namespace: str) -> dict[str, Any]:
    names.package_name(name)
    return {
        "name": name,
        "version": "1.0.0",
        "description": "",
        "keywords": [],
        "private": False,
        "license": "UNLICENSED",
        "memorylayer": {"namespace": namespace},
    }


def load_manifest(path: Path) -> dict[str, Any]:
    """``memory.json``, checked: a valid name and version, dependencies as names and ranges.

    Raises:
        NotFound: there is no memory.json (run ``memorylayer init``).
        InvalidRequest, InvalidPackageName, InvalidVersion: what is wrong with it.
    """
    if not path.is_file():
        raise NotFound(f"no {path.name} in {path.parent}: run `memorylayer init` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise InvalidRequest(f"{path}: expected a JSON object")
    names.package_name(manifest.get("name"))
    names.version(manifest.get("version"))
    deps = manifest.get("dependencies") or {}
    if not isinstance(deps, dict):
        raise InvalidRequest(f"{path}: dependencies must be an object of names and ranges")
    for dep, wanted in deps.items():
        names.package_name(dep)
        names.check_range(wanted, f"dependencies[{dep}]")
    settings = manifest.get("memorylayer") or {}
    if not isinstance(settings, dict):
        raise InvalidRequest(f"{path}: memorylayer must be an object")
    return manifest


def namespace_of(manifest: dict[str, Any]) -> str:
    """The local namespace ``publish`` exports: ``memorylayer.namespace``, else the package name."""
    return str((manifest.get("memorylayer") or {}).get("namespace") or manifest["name"])


# -- publish -------------------------------------------------------------------------------------
def pack(engine: Engine, manifest: dict[str, Any], out: Any) -> dict[str, Any]:
    """Write the package of ``manifest``'s namespace to ``out``; returns the manifest as packed."""
    scope = namespace_of(manifest)
    count = engine.count(scope)
    if count == 0:
        raise InvalidRequest(f"namespace {scope!r} holds no memories: nothing to publish")
    packed = {
        **manifest,
        "memorylayer": {
            **(manifest.get("memorylayer") or {}),
            "namespace": scope,
            "embedding": {"model": engine.embedder.model_id, "dimensions": engine.embedder.dimensions},
            "memories": count,
        },
    }
    write_package(out, packed, _packed(engine, scope))
    return packed


def _packed(engine: Engine, scope: str) -> Iterator[PackedMemory]:
    batch: list[Any] = []
    for record in engine.store.iter_records(engine.account, scope):
        batch.append(record)
        if len(batch) == 500:
            yield from _with_vectors(engine, batch)
            batch = []
    yield from _with_vectors(engine, batch)


def _with_vectors(engine: Engine, records: list[Any]) -> Iterator[PackedMemory]:
    vectors = engine.store.vectors_of(engine.account, [r.id for r in records])
    for r in records:
        model, vector = vectors.get(r.id, (None, None))
        metadata = {k: v for k, v in r.metadata.items() if k not in ("package", "package_version")}
        yield PackedMemory(r.key, r.value, metadata, r.importance, r.created_at, model, vector, r.expires_at)


# -- install -------------------------------------------------------------------------------------
@dataclass
class Installed:
    """What one package's install did (or, with ``dry_run``, would do)."""

    name: str
    version: str
    namespace: str
    integrity: str
    added: int = 0
    merged: int = 0
    skipped: int = 0
    memories: int = 0
    status: str = "installed"  # installed | unchanged | dry_run
    reembedded: bool = False
    deprecated: str | None = None
    dependency: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "namespace": self.namespace,
            "integrity": self.integrity,
            "status": self.status,
            "memories": self.memories,
            "added": self.added,
            "merged": self.merged,
            "skipped": self.skipped,
            "reembedded": self.reembedded,
            "deprecated": self.deprecated,
            "dependency": self.dependency,
        }


@dataclass
class _Resolved:
    name: str
    version: dict[str, Any]
    share: str | None
    dependency: bool


def resolve(info: dict[str, Any], wanted: str | None) -> dict[str, Any]:
    """The version entry of ``info`` that ``wanted`` (a version, range, dist-tag or None) picks.

    Raises:
        VersionYanked: it names a yanked version exactly (or a tag pointing at one).
        NoMatchingVersion: nothing installable matches.
    """
    name = info["name"]
    by_version = {v["version"]: v for v in info["versions"]}
    installable = [v for v, entry in by_version.items() if not entry["yanked"]]
    wanted = wanted or "latest"
    if not names.is_range(wanted):
        tagged = info["distTags"].get(names.tag(wanted))
        if tagged is None:
            raise NoMatchingVersion(
                f"{name} has no dist-tag {wanted!r} (tags: {', '.join(info['distTags']) or 'none'})"
            )
        wanted = tagged
    exact = by_version.get(wanted)
    if exact is not None and exact["yanked"]:
        reason = f": {exact['yankReason']}" if exact.get("yankReason") else ""
        raise VersionYanked(f"{name}@{wanted} was yanked{reason}; install another version")
    chosen = names.best(installable, wanted)
    if chosen is None:
        raise NoMatchingVersion(
            f"no installable version of {name} matches {wanted!r} (published: {', '.join(by_version) or 'none'})"
        )
    picked: dict[str, Any] = by_version[chosen]
    return picked


def plan(client: RegistryClient, name: str, wanted: str | None, share: str | None) -> list[_Resolved]:
    """Every package to install, dependencies before what needs them, each once.

    Raises:
        DependencyCycle: a dependency leads back to a package on its own path.
    """
    order: list[_Resolved] = []
    seen: dict[str, _Resolved] = {}

    def visit(pkg: str, want: str | None, token: str | None, path: list[str]) -> None:
        if pkg in path:
            raise DependencyCycle(f"dependency cycle: {' -> '.join([*path, pkg])}")
        if pkg in seen:
            return
        entry = resolve(client.info(pkg, token), want)
        resolved = _Resolved(pkg, entry, token, bool(path))
        for dep, rng in (entry.get("dependencies") or {}).items():
            visit(dep, names.check_range(rng, f"{pkg} dependencies[{dep}]"), None, [*path, pkg])
        seen[pkg] = resolved
        order.append(resolved)

    visit(name, wanted, share, [])
    return order


def install(
    engine: Engine,
    client: RegistryClient,
    spec: str,
    *,
    namespace: str | None = None,
    share: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[Installed]:
    """Install ``spec`` (``@scope/name[@version|@range|@tag]``) and its dependencies into ``namespace``.

    Raises:
        InvalidPackageName, InvalidVersion, NotFound, NoMatchingVersion, VersionYanked, DependencyCycle,
        ShareLinkExpired, ShareLinkUsedUp, IntegrityError, UnsafeArchive: nothing of that package is written.
    """
    name, wanted = names.spec(spec)
    target = namespace or name
    done = []
    for item in plan(client, name, wanted, share):
        done.append(_install_one(engine, client, item, target, dry_run, progress))
    return done


def _install_one(
    engine: Engine, client: RegistryClient, item: _Resolved, scope: str, dry_run: bool, progress: Progress | None
) -> Installed:
    version, integrity = item.version["version"], item.version["integrity"]
    report = Installed(item.name, version, scope, integrity, dependency=item.dependency)
    report.deprecated = item.version.get("deprecated")
    report.memories = int(item.version.get("memoryCount") or 0)
    registry = engine.backend.registry
    current = registry.install(engine.account, scope, item.name)
    if current is not None and (current.version, current.integrity) == (version, integrity):
        report.status = "unchanged"  # the same version again: nothing to download or write
        return report
    scratch = private_dir(engine.settings.home / "registry" / "downloads")
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".tgz") as tmp:
        fetched = client.download(
            item.name,
            version,
            integrity,
            tmp,
            share=item.share,
            progress=(lambda d, t: progress(f"download {item.name}@{version}", d, t)) if progress else None,
        )
        tmp.flush()
        try:
            _write(engine, Path(tmp.name), report, dry_run, progress)
        except MemoryLayerError:
            if fetched.claim:
                client.release(fetched.claim)  # the share link's use goes back: this install did not happen
            raise
    return report


def _write(engine: Engine, path: Path, report: Installed, dry_run: bool, progress: Progress | None) -> None:
    from ..engine import validation as v

    with open_package(path) as opened:
        manifest = opened.manifest
        if (manifest.get("name"), manifest.get("version")) != (report.name, report.version):
            raise UnsafeArchive(
                f"the tarball holds {manifest.get('name')}@{manifest.get('version')}, "
                f"not {report.name}@{report.version}"
            )
        model = ((manifest.get("memorylayer") or {}).get("embedding") or {}).get("model")
        reuse = model == engine.embedder.model_id
        report.reembedded = not reuse
        provenance = {"package": report.name, "package_version": report.version}
        items: list[NewMemory] = []
        vectors: dict[str, np.ndarray] = {}
        dims = engine.embedder.dimensions
        now = now_ms()
        for n, m in enumerate(opened.memories, start=1):
            try:
                expires = None if m.expires_at is None else v.integer(m.expires_at, "expires_at", limits.TIME_MS)
                if expires is not None and expires <= now:
                    continue  # it expired since it was packed
                item = NewMemory(
                    value=v.memory_value(m.value),
                    key=None if m.key is None else v.key(m.key),
                    metadata=v.metadata({**(m.metadata if isinstance(m.metadata, dict) else {}), **provenance}),
                    importance=None if m.importance is None else v.unit_interval(m.importance, "importance"),
                    created_at=None if m.created_at is None else v.integer(m.created_at, "created_at", limits.TIME_MS),
                    source="imported",
                    expires_at=expires,
                )
            except InvalidRequest as exc:
                raise UnsafeArchive(f"package memory {n}: {exc.message}") from None
            items.append(item)
            if reuse and m.vector is not None and m.model == model and m.vector.shape == (dims,):
                vectors.setdefault(item.value, m.vector)
    report.memories = len(items)
    if dry_run:
        report.status = "dry_run"
        return
    prepared = []
    for start in range(0, len(items), BATCH):
        prepared.append(engine.prepare(report.namespace, items[start : start + BATCH], embedded=vectors))
        if progress:
            progress(f"prepare {report.name}@{report.version}", min(start + BATCH, len(items)), len(items))
    ids: list[str] = []
    with engine.store.transaction():  # the memories and the install record commit together
        for part in prepared:
            result = engine.commit(part)
            unchanged = set(result.unchanged)
            fresh = [m for m in result.memories if m.id not in unchanged]
            ids.extend(m.id for m in fresh)
            report.merged += len(result.superseded)
            report.added += len(fresh) - len(result.superseded)
            report.skipped += len(result.skipped) + len(unchanged)
        engine.backend.registry.record_install(
            engine.account, Install(report.namespace, report.name, report.version, report.integrity, now_ms(), ids)
        )


def remove(engine: Engine, name: str, namespace: str | None = None) -> list[tuple[str, int]]:
    """Delete the memories ``name`` installed (in one namespace, or every one); (namespace, removed) each.

    Raises:
        NotFound: the package is not installed there.
    """
    names.package_name(name)
    registry = engine.backend.registry
    found = [i for i in registry.installs(engine.account, namespace) if i.package == name]
    if not found:
        where = f" in namespace {namespace!r}" if namespace else ""
        raise NotFound(f"{name} is not installed{where}")
    out = []
    with engine.store.transaction():
        for record in found:
            removed = engine.store.delete(engine.account, record.memory_ids)
            registry.forget_install(engine.account, record.scope, name)
            out.append((record.scope, removed))
    return out
