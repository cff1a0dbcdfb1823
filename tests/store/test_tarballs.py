"""Package tarballs where each backend keeps them: put once, read whole, from any replica's home."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from store_support import DatabaseUnderTest

from memorylayer.errors import NotFound
from memorylayer.store import Backend


def _upload(scratch: Path, data: bytes) -> tuple[str, Path]:
    source = scratch / f"{hashlib.sha256(data).hexdigest()}.tgz"
    source.write_bytes(data)
    return hashlib.sha512(data).hexdigest(), source


def test_a_tarball_put_once_is_read_back_whole_from_another_home(
    database: DatabaseUnderTest, backend: Backend, tmp_path: Path
) -> None:
    tarballs = backend.tarballs(tmp_path / "home")
    data = bytes(range(256)) * 9_000  # over two of PostgreSQL's 1 MiB chunks
    digest, source = _upload(tarballs.scratch(), data)
    tarballs.put(digest, source)
    assert not source.exists()  # moved in, not copied
    assert tarballs.path(digest).read_bytes() == data
    again, second = _upload(tarballs.scratch(), data)
    tarballs.put(again, second)  # the same bytes twice: kept once, the upload is dropped
    assert not second.exists() and tarballs.path(digest).read_bytes() == data
    if database.kind == "postgres":  # a replica with a home of its own serves it too
        replica = database.open()
        try:
            assert replica.tarballs(tmp_path / "replica-home").path(digest).read_bytes() == data
        finally:
            replica.close()


def test_a_missing_or_malformed_digest_is_not_found(backend: Backend, tmp_path: Path) -> None:
    tarballs = backend.tarballs(tmp_path / "home")
    with pytest.raises(NotFound, match="missing"):
        tarballs.path("ab" * 64)
    for bad in ("../../etc/passwd", "AB" * 64, "ab" * 63):
        with pytest.raises(NotFound):
            tarballs.path(bad)


def test_a_discarded_blob_is_gone_and_discarding_twice_is_no_error(backend: Backend, tmp_path: Path) -> None:
    tarballs = backend.tarballs(tmp_path / "home")
    digest, source = _upload(tarballs.scratch(), b"sync blob bytes" * 100_000)
    tarballs.put(digest, source)
    assert tarballs.path(digest).is_file()
    tarballs.discard(digest)
    tarballs.discard(digest)
    with pytest.raises(NotFound):
        tarballs.path(digest)
