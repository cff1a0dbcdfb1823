"""Tarball bytes, stored by content hash (SHA-512, hex): the protocol and its directory of files.

Each backend says where its tarballs live (:meth:`memorylayer.store.base.Backend.tarballs`): a SQLite
home keeps files under ``<home>/registry/tarballs``; PostgreSQL keeps them in the database
(:class:`memorylayer.store.postgres.tarballs.DatabaseTarballs`) so every replica serves every package.

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

    def discard(self, digest_hex: str) -> None:
        """Forget the bytes under ``digest_hex`` (a replaced sync blob); nothing stored is no error."""
        ...


def tarball_file(root: Path, digest_hex: str) -> Path:
    """Where a tarball's file goes under ``root``. Raises NotFound: ``digest_hex`` is not a SHA-512."""
    if _HEX.fullmatch(digest_hex) is None:
        raise NotFound("no such tarball")
    return root / digest_hex[:2] / digest_hex


class DirectoryTarballs:
    """Tarballs as files under ``root`` (``<home>/registry/tarballs`` for a SQLite home)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, digest_hex: str, source: Path) -> None:
        target = tarball_file(self.root, digest_hex)
        private_dir(target.parent)
        try:
            if target.exists():
                source.unlink()
                return
            os.replace(source, target)
        except OSError as exc:
            raise storage_error(exc, target, "store the tarball") from exc

    def path(self, digest_hex: str) -> Path:
        target = tarball_file(self.root, digest_hex)
        if not target.is_file():
            raise NotFound("the tarball of this version is missing from the registry's storage")
        return target

    def scratch(self) -> Path:
        """A directory for uploads in progress, on the same file system (so ``put`` is a rename)."""
        return private_dir(self.root / "incoming")

    def discard(self, digest_hex: str) -> None:
        try:
            tarball_file(self.root, digest_hex).unlink(missing_ok=True)
        except OSError as exc:
            raise storage_error(exc, self.root, "remove a replaced blob") from exc
