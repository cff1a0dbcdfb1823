"""Real faulty environments for the fault tests: a small disk that fills up, a read-only file system.

Both are real file systems (a tmpfs mounted for the test), so SQLite meets the errors it meets in
the field (ENOSPC, EROFS). Mounting needs root with CAP_SYS_ADMIN; where that is missing, a
read-only directory falls back to permissions (for a user who is not root) and the tests that need a
mount are skipped with the reason printed.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


@contextmanager
def small_disk(root: Path, size_kb: int) -> Iterator[Path]:
    """A fresh tmpfs of ``size_kb`` KiB at ``root``; skips the test where nothing can be mounted."""
    root.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root and the mount command; none here")
    made = _mount(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(root)])
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}); needs CAP_SYS_ADMIN")
    try:
        yield root
    finally:
        _mount(["umount", "-l", str(root)])


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; remove it to free the space again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    finally:
        os.close(fd)
    return filler


def remount(disk: Path, mode: str) -> None:
    """Remount a :func:`small_disk` read-only (``"ro"``) or writable again (``"rw"``)."""
    done = _mount(["mount", "-o", f"remount,{mode}", str(disk)])
    assert done.returncode == 0, done.stderr
