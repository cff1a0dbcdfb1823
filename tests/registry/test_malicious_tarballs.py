"""Tarballs built to escape or explode are refused by the reader (both ends use it) and by the server."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from registry_support import Registry, User

from memorylayer import limits
from memorylayer.errors import UnsafeArchive
from memorylayer.registry.archive import MANIFEST, MEMORIES, PackedMemory, open_package, read_manifest, write_package

MANIFEST_BODY = json.dumps({"name": "@alice/evil", "version": "1.0.0"}).encode()


def _tar(path: Path, build: Callable[[tarfile.TarFile], None]) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        build(tar)
    return path


def _file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, "/etc/passwd"
    tar.addfile(info)


def _refused(path: Path, words: str) -> None:
    with pytest.raises(UnsafeArchive) as caught:
        read_manifest(path)
    assert words in caught.value.message


def test_a_package_written_by_write_package_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "good.tgz"
    with path.open("wb") as out:
        write_package(out, {"name": "@a/b", "version": "1.0.0"}, [PackedMemory(None, "x", {}, None, None, None, None)])
    with open_package(path) as opened:
        assert opened.manifest["name"] == "@a/b" and [m.value for m in opened.memories] == ["x"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("package/../../../etc/cron.d/evil", "points outside the package"),
        ("../memory.json", "points outside the package"),
        ("/etc/passwd", "points outside the package"),
        ("package\\..\\evil", "points outside the package"),
        ("package/other.txt", "unexpected member"),
    ],
)
def test_paths_outside_the_package_are_refused(tmp_path: Path, name: str, words: str) -> None:
    _refused(_tar(tmp_path / "evil.tgz", lambda tar: _file(tar, name, b"{}")), words)


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_symlinks_and_hard_links_are_refused(tmp_path: Path, kind: bytes) -> None:
    _refused(_tar(tmp_path / "link.tgz", lambda tar: _link(tar, MANIFEST, kind)), "is a link")


def test_directories_and_devices_are_refused(tmp_path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(MANIFEST)
        info.type = tarfile.CHRTYPE
        tar.addfile(info)

    _refused(_tar(tmp_path / "dev.tgz", build), "not a regular file")


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        _file(tar, MANIFEST, MANIFEST_BODY)
        for _ in range(limits.TARBALL_MAX_MEMBERS + 3):
            _file(tar, MEMORIES, b"")

    _refused(_tar(tmp_path / "many.tgz", build), f"more than {limits.TARBALL_MAX_MEMBERS} members")


def test_a_member_declaring_more_than_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # Only the header is written: the declared 4 GiB is never decompressed, nor needed to refuse it.
    header = tarfile.TarInfo(MANIFEST)
    header.size = 4 * 1024**3
    path = tmp_path / "oversize.tgz"
    path.write_bytes(gzip.compress(header.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024))
    _refused(path, "larger than")
    honest = _tar(tmp_path / "honest.tgz", lambda tar: _file(tar, MANIFEST, b" " * (2 * 1024 * 1024)))
    with pytest.raises(UnsafeArchive, match="larger than"), open_package(honest, cap=1024 * 1024):
        pass


def test_a_gzip_bomb_is_stopped_after_reading_a_sliver_of_it(tmp_path: Path) -> None:
    bomb_size = 200 * 1024 * 1024  # zeros, no newline: 200 MiB that gzip packs into ~200 KiB

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = bomb_size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            n = min(len(buffer), self.left)
            buffer[:n] = b"\0" * n
            self.left -= n
            return n

    def build(tar: tarfile.TarFile) -> None:
        _file(tar, MANIFEST, MANIFEST_BODY)
        info = tarfile.TarInfo(MEMORIES)
        info.size = bomb_size
        tar.addfile(info, io.BufferedReader(Zeros()))

    path = _tar(tmp_path / "bomb.tgz", build)
    assert path.stat().st_size < bomb_size // 100
    with pytest.raises(UnsafeArchive, match="longer than"), open_package(path) as opened:
        for _ in opened.memories:
            pass  # refused at the first 256 KiB of the line, long before the 200 MiB are inflated


def test_not_gzip_and_not_tar_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"this is not gzip")
    _refused(junk, "package tarball")
    plain = tmp_path / "plain.tgz"
    plain.write_bytes(gzip.compress(b"not a tar archive at all" * 100))
    _refused(plain, "package tarball")


def test_the_server_refuses_an_unsafe_upload_and_publishes_nothing(
    registry: Registry, alice: User, tmp_path: Path
) -> None:
    evil = _tar(tmp_path / "evil.tgz", lambda tar: _file(tar, "../../memory.json", MANIFEST_BODY))
    response = httpx.put(
        f"{registry.url}/registry/v1/packages/@alice/evil/versions/1.0.0",
        content=evil.read_bytes(),
        headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/gzip"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsafe_archive"
    assert alice.run("info", "@alice/evil", "--json").error == "not_found"
    other = _tar(tmp_path / "other.tgz", lambda tar: (_file(tar, MANIFEST, MANIFEST_BODY), _file(tar, MEMORIES, b"")))
    mismatch = httpx.put(
        f"{registry.url}/registry/v1/packages/@alice/evil/versions/2.0.0",
        content=other.read_bytes(),
        headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/gzip"},
    )
    assert mismatch.status_code == 400 and "not @alice/evil@2.0.0" in mismatch.json()["error"]["message"]


def test_the_openapi_schema_lists_the_registry_routes_with_their_patterns(registry: Registry) -> None:
    doc = httpx.get(f"{registry.url}/openapi.json").json()
    found = {(method, path) for path, item in doc["paths"].items() for method in item if path.startswith("/registry")}
    assert {
        ("put", "/registry/v1/packages/{scope}/{name}/versions/{version}"),
        ("get", "/registry/v1/packages/{scope}/{name}/versions/{version}/tarball"),
        ("post", "/registry/v1/packages/{scope}/{name}/share-links"),
        ("put", "/registry/v1/orgs/{slug}/members/{username}"),
        ("get", "/registry/v1/search"),
    } <= found
    publish = doc["paths"]["/registry/v1/packages/{scope}/{name}/versions/{version}"]["put"]
    assert {"201", "400", "401", "403", "409", "413"} <= set(publish["responses"])
    version = next(p for p in publish["parameters"] if p["name"] == "version")
    assert version["schema"]["pattern"].startswith("^(?:0|[1-9]")
    assert "application/octet-stream" in publish["requestBody"]["content"]


def test_uploads_may_be_larger_than_the_api_body_limit(registry: Registry, alice: User) -> None:
    # /v1 bodies stop at 1 MiB; a package upload is read by its route up to the tarball cap.
    body = os.urandom(limits.REQUEST_BODY_MAX_BYTES + 512 * 1024)
    response = httpx.put(
        f"{registry.url}/registry/v1/packages/@alice/big/versions/1.0.0",
        content=body,
        headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsafe_archive"
