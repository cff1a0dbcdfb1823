"""Tarball bytes in the PostgreSQL database, so every replica serves every package.

A tarball is kept as 1 MiB chunks (``reg_tarball_chunks``) and becomes visible only when its
``reg_tarballs`` row commits with them, in one transaction. Reads copy it once into a local,
content-addressed cache file (``<home>/registry/cache``), checked against its SHA-512 as it is
written; memory stays at one chunk either way.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from ...errors import IntegrityError, NotFound
from ...files import private_dir, storage_error
from ..tarballs import tarball_file
from .db import Database

CHUNK_BYTES = 1024 * 1024


class DatabaseTarballs:
    """Implements :class:`memorylayer.store.tarballs.TarballStore` in the database, cached under ``cache``."""

    def __init__(self, database: Database, cache: Path) -> None:
        self.db = database
        self.cache = cache

    def _stored(self, digest_hex: str) -> bool:
        return self.db.one("SELECT 1 FROM reg_tarballs WHERE digest = %s", (digest_hex,)) is not None

    def put(self, digest_hex: str, source: Path) -> None:
        tarball_file(self.cache, digest_hex)  # refuses a malformed digest
        if not self._stored(digest_hex):
            # Not the writers' lock: a concurrent put of the same bytes is harmless (ON CONFLICT).
            with self.db.transaction(exclusive=False), source.open("rb") as upload:
                seq = size = 0
                while chunk := upload.read(CHUNK_BYTES):
                    self.db.execute(
                        "INSERT INTO reg_tarball_chunks (digest, seq, bytes) VALUES (%s, %s, %s)"
                        " ON CONFLICT DO NOTHING",
                        (digest_hex, seq, chunk),
                    )
                    seq, size = seq + 1, size + len(chunk)
                self.db.execute(
                    "INSERT INTO reg_tarballs (digest, size, chunks) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (digest_hex, size, seq),
                )
        source.unlink(missing_ok=True)

    def path(self, digest_hex: str) -> Path:
        target = tarball_file(self.cache, digest_hex)
        if target.is_file():
            return target
        row = self.db.one("SELECT chunks FROM reg_tarballs WHERE digest = %s", (digest_hex,))
        if row is None:
            raise NotFound("the tarball of this version is missing from the registry's storage")
        private_dir(target.parent)
        partial = target.with_name(f".{uuid.uuid4().hex}.part")
        digest = hashlib.sha512()
        try:
            with partial.open("wb") as out:
                for seq in range(int(row[0])):
                    found = self.db.one(
                        "SELECT bytes FROM reg_tarball_chunks WHERE digest = %s AND seq = %s", (digest_hex, seq)
                    )
                    if found is None:
                        raise IntegrityError(f"tarball {digest_hex[:16]}…: chunk {seq} is missing from the database")
                    digest.update(found[0])
                    out.write(found[0])
            if digest.hexdigest() != digest_hex:
                raise IntegrityError(f"tarball {digest_hex[:16]}…: the database's bytes do not match their SHA-512")
            os.replace(partial, target)
        except OSError as exc:
            raise storage_error(exc, target, "cache the tarball") from exc
        finally:
            partial.unlink(missing_ok=True)
        return target

    def scratch(self) -> Path:
        return private_dir(self.cache / "incoming")

    def discard(self, digest_hex: str) -> None:
        target = tarball_file(self.cache, digest_hex)
        with self.db.transaction(exclusive=False):
            self.db.execute("DELETE FROM reg_tarballs WHERE digest = %s", (digest_hex,))
            self.db.execute("DELETE FROM reg_tarball_chunks WHERE digest = %s", (digest_hex,))
        target.unlink(missing_ok=True)  # this replica's cache; another's copy is never served without a row
