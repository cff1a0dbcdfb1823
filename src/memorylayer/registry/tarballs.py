"""Tarball bytes, stored by content hash: a directory of files named by their SHA-512 (hex).

The same bytes are stored once however many versions or packages share them, and a file is only
ever written whole (a temporary name, then a rename), so a reader never sees half a tarball.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from ..errors import NotFound
from ..files import private_dir, storage_error

_HEX = re.compile(r"[0-9a-f]{128}")


class TarballStore(Protocol):
    def put(self, digest_hex: str, source: Path) -> None:
        """Keep the file ``source`` (moved, not copied) under its SHA-512 ``digest_hex``."""
        ...

    def path(self, digest_hex: str) -> Path:
        """A readable file of the tarball. Raises NotFound: none is stored under ``digest_hex``."""
        ...

    def scratch(self) -> Path:
        """A directory for uploads in progress, from which :meth:`put` moves them."""
        ...


class DirectoryTarballs:
    """Tarballs as files under ``root`` (``<home>/registry/tarballs`` for a SQLite home)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, digest_hex: str) -> Path:
        if _HEX.fullmatch(digest_hex) is None:
            raise NotFound("no such tarball")
        return self.root / digest_hex[:2] / digest_hex

    def put(self, digest_hex: str, source: Path) -> None:
        target = self._file(digest_hex)
        private_dir(target.parent)
        try:
            if target.exists():
                source.unlink()
                return
            os.replace(source, target)
        except OSError as exc:
            raise storage_error(exc, target, "store the tarball") from exc

    def path(self, digest_hex: str) -> Path:
        target = self._file(digest_hex)
        if not target.is_file():
            raise NotFound("the tarball of this version is missing from the registry's storage")
        return target

    def scratch(self) -> Path:
        """A directory for uploads in progress, on the same file system (so ``put`` is a rename)."""
        return private_dir(self.root / "incoming")
