"""Private files: the MemoryLayer home is 0700 and what it holds 0600, whatever the umask.

Files are created with their final mode (``os.open(..., 0o600)``, then ``fchmod`` in case the umask
took bits away), never made private after being written. Failures of the file system become the
storage errors of :mod:`memorylayer.errors`, naming the path and what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import StorageError, StorageFull, StorageReadOnly

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def storage_error(exc: OSError, path: Path, doing: str) -> StorageError:
    """The storage error for an ``OSError`` met while ``doing`` something with ``path``."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageReadOnly(
            f"cannot {doing} {path}: the file system refuses to write there ({exc.strerror}). "
            "Make the MemoryLayer home writable (chmod u+w) or point MEMORYLAYER_HOME / --home elsewhere."
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"cannot {doing} {path}: the disk is full. Free some space and retry.")
    return StorageError(f"cannot {doing} {path}: {exc.strerror or exc}. Check the path and its permissions.")


def private_dir(path: Path) -> Path:
    """``path`` as an existing directory; one this call creates (parents included) is 0700.

    Raises:
        StorageError: it cannot be created (read-only or full file system, a file in the way).
    """
    if path.is_dir():
        return path
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        for created in missing:
            os.chmod(created, PRIVATE_DIR)
    except OSError as exc:
        raise storage_error(exc, path, "create the directory") from exc
    return path


def secure_home(home: Path) -> Path:
    """The MemoryLayer home, created 0700 if missing and taken back to 0700 if it was opened up.

    Raises:
        StorageError: it cannot be created.
    """
    private_dir(home)
    make_private(home)
    return home


def make_private(path: Path) -> None:
    """Take group and other permissions off ``path`` if it exists and has any (quietly, if it cannot)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            os.chmod(path, current & 0o700)
    except OSError:
        return


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (e.g. a database before SQLite opens it).

    Raises:
        StorageError: it cannot be created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    except OSError as exc:
        raise storage_error(exc, path, "create") from exc
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def append_private(path: Path, text: str) -> None:
    """Append ``text`` to ``path``, creating it 0600 (its directory 0700) if needed.

    Raises:
        StorageError: it cannot be written.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "ab") as handle:
            handle.write(text.encode("utf-8"))
    except OSError as exc:
        raise storage_error(exc, path, "write") from exc


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (a 0600 temporary file, then a rename).

    Raises:
        StorageError: it cannot be written.
    """
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise storage_error(exc, path, "write") from exc
