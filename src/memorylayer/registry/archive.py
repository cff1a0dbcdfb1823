"""The package tarball: ``package/memory.json`` then ``package/memories.jsonl``, gzip-compressed.

Each line of ``memories.jsonl`` is one memory with its embedding, tagged with the model that made it
(``vector`` is base64 of little-endian float32), so an installer on the same model embeds nothing.

Reading never extracts to disk and trusts nothing: members must be regular files with exactly the
two names above (no links, devices, absolute paths or ``..``), their declared sizes and count are
capped before any data is read, and a counter on the decompressed stream stops a gzip bomb at
:data:`~memorylayer.limits.UNPACKED_MAX_BYTES` whatever the headers say.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import limits
from ..errors import UnsafeArchive

MANIFEST = "package/memory.json"
MEMORIES = "package/memories.jsonl"


@dataclass(frozen=True)
class PackedMemory:
    key: str | None
    value: str
    metadata: dict[str, Any]
    importance: float | None
    created_at: int | None
    model: str | None
    vector: np.ndarray | None
    #: When the memory disappears on its own (ms); an installed copy disappears then too.
    expires_at: int | None = None


def memory_line(memory: PackedMemory) -> bytes:
    line = {
        "key": memory.key,
        "value": memory.value,
        "metadata": memory.metadata,
        "importance": memory.importance,
        "created_at": memory.created_at,
        "expires_at": memory.expires_at,
        "model": memory.model if memory.vector is not None else None,
        "vector": None
        if memory.vector is None
        else base64.b64encode(np.asarray(memory.vector, dtype="<f4").tobytes()).decode("ascii"),
    }
    return (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")


def write_package(out: IO[bytes], manifest: dict[str, Any], memories: Iterable[PackedMemory]) -> int:
    """Write the tarball of ``manifest`` and ``memories`` to ``out``; returns how many memories.

    The memories go through a temporary file first (a tar header needs the member's size), so memory
    use stays flat whatever the package's size.
    """
    count = 0
    with tempfile.TemporaryFile() as lines:
        for memory in memories:
            lines.write(memory_line(memory))
            count += 1
        body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        # mtime 0 and fixed owners: the same memories always make the same bytes (and integrity).
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
            tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
            lines.seek(0, io.SEEK_END)
            size = lines.tell()
            lines.seek(0)
            tar.addfile(_info(MEMORIES, size), lines)
    return count


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


class _Counted(io.RawIOBase):
    """The decompressed stream, refusing to give out more than the unpacked cap."""

    def __init__(self, source: IO[bytes], cap: int) -> None:
        self._gz = gzip.GzipFile(fileobj=source, mode="rb")
        self._cap, self.read_bytes = cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._gz.readinto(buffer)
        except (OSError, EOFError) as exc:
            raise UnsafeArchive(f"package tarball: not a valid gzip stream ({exc})") from None
        self.read_bytes += n
        if self.read_bytes > self._cap:
            raise UnsafeArchive(f"package tarball unpacks to more than {self._cap:,} bytes (a decompression bomb?)")
        return n


@dataclass
class OpenedPackage:
    manifest: dict[str, Any]
    memories: Iterator[PackedMemory]


@contextmanager
def open_package(path: Path, *, cap: int = limits.UNPACKED_MAX_BYTES) -> Iterator[OpenedPackage]:
    """The tarball at ``path`` opened for reading: its manifest and a stream of its memories.

    Raises:
        UnsafeArchive: anything that is not a package as :func:`write_package` makes it.
    """
    with path.open("rb") as raw:
        stream = _Counted(raw, cap)
        try:
            tar = tarfile.open(fileobj=io.BufferedReader(stream), mode="r|")
        except tarfile.TarError as exc:
            raise UnsafeArchive(f"package tarball: not a tar archive ({exc})") from None
        with tar:
            members = _members(tar, cap)
            first = next(members, None)
            if first is None or first[0].name != MANIFEST:
                raise UnsafeArchive(f"package tarball: the first member must be {MANIFEST}")
            manifest = _manifest(first[1])
            second = next(members, None)
            if second is None or second[0].name != MEMORIES:
                raise UnsafeArchive(f"package tarball: the second member must be {MEMORIES}")
            yield OpenedPackage(manifest, _memories(second[1]))
            # Every further member is checked too (count, links, paths), then refused.
            if sum(1 for _ in members):
                raise UnsafeArchive("package tarball: members after memories.jsonl")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the tarball at ``path``, checking the whole archive's structure and caps.

    Raises:
        UnsafeArchive: as :func:`open_package`.
    """
    with open_package(path) as opened:
        for _ in opened.memories:
            pass
    return opened.manifest


def _members(tar: tarfile.TarFile, cap: int) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    total, count = 0, 0
    try:
        for member in tar:
            count += 1
            if count > limits.TARBALL_MAX_MEMBERS:
                raise UnsafeArchive(f"package tarball: more than {limits.TARBALL_MAX_MEMBERS} members")
            name = member.name
            if name.startswith("/") or "\\" in name or any(part == ".." for part in name.split("/")):
                raise UnsafeArchive(f"package tarball: member {name!r} points outside the package")
            if member.issym() or member.islnk():
                raise UnsafeArchive(f"package tarball: member {name!r} is a link")
            if not member.isfile():
                raise UnsafeArchive(f"package tarball: member {name!r} is not a regular file")
            if name not in (MANIFEST, MEMORIES):
                raise UnsafeArchive(f"package tarball: unexpected member {name!r}")
            total += member.size
            if member.size > cap or total > cap:
                raise UnsafeArchive(f"package tarball: members larger than {cap:,} bytes in all")
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file
            yield member, handle
    except tarfile.TarError as exc:
        raise UnsafeArchive(f"package tarball: damaged ({exc})") from None


def _manifest(handle: IO[bytes]) -> dict[str, Any]:
    raw = handle.read(limits.MANIFEST_MAX_BYTES + 1)
    if len(raw) > limits.MANIFEST_MAX_BYTES:
        raise UnsafeArchive(f"package tarball: memory.json is larger than {limits.MANIFEST_MAX_BYTES:,} bytes")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise UnsafeArchive("package tarball: memory.json is not JSON") from None
    if not isinstance(manifest, dict):
        raise UnsafeArchive("package tarball: memory.json is not an object")
    return manifest


def _memories(handle: IO[bytes]) -> Iterator[PackedMemory]:
    number = 0
    while raw := handle.readline(limits.PACKAGE_LINE_MAX_BYTES + 1):
        number += 1
        if len(raw) > limits.PACKAGE_LINE_MAX_BYTES:
            raise UnsafeArchive(
                f"package tarball: memories.jsonl line {number} is longer than {limits.PACKAGE_LINE_MAX_BYTES:,} bytes"
            )
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            vector = data.get("vector")
            yield PackedMemory(
                key=data.get("key"),
                value=data["value"],
                metadata=data.get("metadata") or {},
                importance=data.get("importance"),
                created_at=data.get("created_at"),
                model=data.get("model"),
                vector=None if vector is None else np.frombuffer(base64.b64decode(vector), dtype="<f4"),
                expires_at=data.get("expires_at"),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise UnsafeArchive(f"package tarball: memories.jsonl line {number} is not a memory ({exc})") from None
