"""The files of a source folder worth indexing: what ``git`` would track, minus binaries and vendored trees.

Shared by the local engine (``memorylayer code ingest``) and the SDK (which reads the folder on the
client and sends the files to a server), so both see the same files. ``.gitignore`` files are read at
every level with git's own pattern rules (``pathspec``); ``.git``, virtual environments, ``node_modules``,
``vendor``, build outputs and caches are never entered; a file over :data:`MAX_FILE_BYTES`, one with a
NUL byte or one that is not UTF-8 is skipped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidRequest, NotConfigured

#: Larger files are generated or data, not code worth locating (and one would crowd out the rest).
MAX_FILE_BYTES = 1_000_000
#: Folders never entered, whatever .gitignore says: dependencies, environments, build outputs, caches.
VENDORED = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "vendor", "third_party", "bower_components", ".venv", "venv",
        "env", "site-packages", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".tox", ".nox",
        "dist", "build", "target", ".eggs", ".idea", ".vscode", ".next", "coverage", "htmlcov",
    }
)  # fmt: skip
#: Extensions indexed as text: code (parsed into symbols where a grammar is installed) and docs/config.
TEXT_EXTENSIONS = frozenset(
    {
        ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h",
        ".cc", ".cpp", ".hpp", ".rb", ".php", ".sh", ".bash", ".md", ".rst", ".txt", ".toml", ".yaml",
        ".yml", ".cfg", ".ini", ".sql", ".html", ".css",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SourceFile:
    """One file to index: its path relative to the root (``/``-separated) and its text."""

    path: str
    text: str


@dataclass
class Skipped:
    """Files left out of a walk, by reason (reported in the ingest summary)."""

    ignored: int = 0
    binary: int = 0
    too_large: int = 0
    other_type: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, reason: str, path: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{path} ({reason})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ignored": self.ignored,
            "binary": self.binary,
            "too_large": self.too_large,
            "other_type": self.other_type,
        }


def _spec(lines: list[str]) -> Any:
    try:
        import pathspec
    except ImportError as exc:  # pragma: no cover - pathspec comes with the [code] extra
        raise NotConfigured("reading .gitignore needs pathspec: pip install 'memorylayer-agents[code]'") from exc
    return pathspec.GitIgnoreSpec.from_lines(lines)


def walk(root: str | Path, skipped: Skipped | None = None) -> Iterator[SourceFile]:
    """The indexable files under ``root``, in path order.

    Raises:
        InvalidRequest: ``root`` is not a folder.
    """
    base = Path(root).resolve()
    if not base.is_dir():
        raise InvalidRequest(f"{root}: not a folder", details=[{"path": ["root"], "message": "not a folder"}])
    skipped = skipped if skipped is not None else Skipped()
    # (folder relative to root, spec): each .gitignore applies to paths below its own folder.
    specs: list[tuple[str, Any]] = []
    for folder, dirs, files in os.walk(base):
        rel_folder = Path(folder).relative_to(base).as_posix()
        rel_folder = "" if rel_folder == "." else rel_folder
        ignore_file = Path(folder) / ".gitignore"
        if ignore_file.is_file():
            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((rel_folder, _spec(lines)))

        def ignored(rel: str, is_dir: bool) -> bool:
            for where, spec in specs:
                if where and not rel.startswith(where + "/"):
                    continue
                sub = rel[len(where) + 1 :] if where else rel
                if spec.match_file(sub + "/" if is_dir else sub):
                    return True
            return False

        kept = []
        for name in sorted(dirs):
            rel = f"{rel_folder}/{name}" if rel_folder else name
            if name in VENDORED or name.endswith(".egg-info") or os.path.islink(Path(folder) / name):
                continue
            if ignored(rel, True):
                skipped.add("ignored", rel + "/")
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            rel = f"{rel_folder}/{name}" if rel_folder else name
            source = _read(Path(folder) / name, rel, skipped, ignored)
            if source is not None:
                yield source


def _read(path: Path, rel: str, skipped: Skipped, ignored: Any) -> SourceFile | None:
    if path.is_symlink() or not path.is_file():
        return None
    if ignored(rel, False):
        skipped.add("ignored", rel)
        return None
    if path.suffix.lower() not in TEXT_EXTENSIONS:
        skipped.add("other_type", rel)
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        skipped.add("too_large", rel)
        return None
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        skipped.add("binary", rel)
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        skipped.add("binary", rel)
        return None
    return SourceFile(rel, text)
