"""``memorylayer doctor``: check the home, the database, the model files and the versions.

It only reads: a missing home or database is reported, never created, and the database is opened
read-only for ``PRAGMA integrity_check``. Each check is ``ok``, ``warn`` (works, but should be
fixed) or ``fail``; the exit status is 0 without failures, else the stable exit code of the first
failure's error (7 for storage, 6 for integrity).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import stat
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import typer

from .._version import DISTRIBUTION
from ..config import DATABASE_FILE, Settings
from ..errors import IntegrityError, MemoryLayerError, StorageCorrupt, StorageError, StorageReadOnly
from .options import Database, Home, Json, load_settings
from .render import emit_json, fail, say
from .root import app

PACKAGES = (DISTRIBUTION, "numpy", "onnxruntime", "tokenizers", "fastapi", "starlette", "uvicorn", "mcp", "httpx")
#: Files of the home that hold secrets or memories and must be readable by their owner only.
PRIVATE_FILES = (DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm", "server.secret", "sign-in-codes.txt")


@dataclass
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    error: MemoryLayerError | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail, **self.data}
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out


@app.command()
def doctor(home: Home = None, database: Database = None, as_json: Json = False) -> None:
    """Check the home, the database (PRAGMA integrity_check), the model files and the versions."""
    try:
        settings = load_settings(home, database)
    except MemoryLayerError as error:
        fail(error, as_json)
    checks = [_home(settings.home), *_private_files(settings.home), _database(settings), *_models(settings)]
    versions = _versions()
    failed = next((c for c in checks if c.status == "fail"), None)
    if as_json:
        emit_json({"ok": failed is None, "checks": [c.to_dict() for c in checks], "versions": versions})
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for check in checks:
            say((f"{check.status:<4}", colour[check.status]), "  ", check.name, ": ", check.detail)
        say("versions: ", ", ".join(f"{k} {v}" for k, v in versions.items()))
    if failed is not None:
        raise typer.Exit(failed.error.exit_code if failed.error is not None else 1)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _home(home: Path) -> Check:
    if not home.exists():
        return Check(
            "home", "warn", f"{home} does not exist yet (it is created 0700 on first use)", {"path": str(home)}
        )
    data = {"path": str(home), "mode": oct(_mode(home))}
    if not home.is_dir():
        error = StorageReadOnly(f"{home} is not a directory; point MEMORYLAYER_HOME or --home at a directory")
        return Check("home", "fail", error.message, data, error)
    if not os.access(home, os.W_OK | os.X_OK):
        error = StorageReadOnly(f"{home} is not writable by you; make it writable (chmod u+w) or use another home")
        return Check("home", "fail", error.message, data, error)
    if _mode(home) & 0o077:
        return Check("home", "warn", f"{home} is {oct(_mode(home))}; others can list it (chmod 700)", data)
    return Check("home", "ok", f"{home} (0700, writable)", data)


def _private_files(home: Path) -> list[Check]:
    found = []
    for name in PRIVATE_FILES:
        path = home / name
        if path.exists() and _mode(path) & 0o077:
            detail = f"{path} is {oct(_mode(path))}; others can read it (chmod 600)"
            found.append(Check(f"file {name}", "warn", detail, {"path": str(path), "mode": oct(_mode(path))}))
    return found


def _database(settings: Settings) -> Check:
    from ..store import sqlite_path
    from ..store.sqlite.inspect import inspect_database

    path = sqlite_path(settings.database_url)
    if path is None:
        scheme = settings.database_url.split("://")[0]
        return Check("database", "warn", f"{scheme}:// databases are not checked by doctor", {"url": scheme})
    report = inspect_database(path)
    data: dict[str, Any] = {"path": str(path), "exists": report.exists}
    if not report.exists:
        return Check("database", "warn", f"{path} does not exist yet (it is created on first use)", data)
    data.update(
        size_bytes=report.size_bytes,
        mode=report.mode,
        integrity=report.integrity,
        journal_mode=report.journal_mode,
        migrations=f"{report.applied_migrations}/{report.known_migrations}",
        memories=report.memories,
    )
    if report.error is not None:
        return Check("database", "fail", report.error.message, data, report.error)
    if report.integrity != ["ok"]:
        error = StorageCorrupt(
            f"{path} fails PRAGMA integrity_check ({'; '.join(report.integrity[:3])}). Move it away and restore "
            "a backup; `memorylayer export` may still read what is intact."
        )
        return Check("database", "fail", error.message, data, error)
    if report.applied_migrations == 0 and report.memories is None:
        error = StorageCorrupt(f"{path} is a SQLite file but not a MemoryLayer database; point --database elsewhere")
        return Check("database", "fail", error.message, data, error)
    detail = f"{path}: integrity ok, {report.memories} live memories, schema {data['migrations']}"
    status = "ok" if report.applied_migrations == report.known_migrations else "warn"
    if status == "warn":
        detail += " (the next write applies the missing migrations)"
    return Check("database", status, detail, data)


def _models(settings: Settings) -> list[Check]:
    from ..embedding.embedder import DEFAULT_MODEL_SHA256, TOKENIZER_SHA256, default_model_path, tokenizer_path

    checks = [
        _file_hash("embedding model", default_model_path, DEFAULT_MODEL_SHA256),
        _file_hash("tokenizer", tokenizer_path, TOKENIZER_SHA256),
    ]
    if settings.reranker_path:
        folder = Path(settings.reranker_path).expanduser()
        for name in ("model.onnx", "tokenizer.json"):
            checks.append(_file_hash(f"reranker {name}", lambda n=name: folder / n, None))
    return checks


def _file_hash(name: str, locate: Any, expected: str | None) -> Check:
    from ..embedding.embedder import sha256_file

    try:
        path = Path(locate())
        digest = sha256_file(path)
    except (OSError, ImportError) as exc:
        error: MemoryLayerError = StorageError(
            f"{name} cannot be read ({exc}); reinstall memorylayer or fix reranker_path"
        )
        return Check(name, "fail", error.message, {}, error)
    data = {"path": str(path), "size_bytes": path.stat().st_size, "sha256": digest}
    if expected is not None and digest != expected:
        error = IntegrityError(f"{path} does not match its pinned sha256 {expected}; reinstall memorylayer")
        return Check(name, "fail", error.message, data, error)
    pinned = " (matches its pin)" if expected else ""
    return Check(name, "ok", f"{path} sha256 {digest[:16]}…{pinned}", data)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
