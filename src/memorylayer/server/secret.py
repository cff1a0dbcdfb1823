"""The server secret: the key of the HMAC that sign-in codes are stored under.

A six-digit code hashed without a key is reversed by trying the million candidates, so a copy of
the database would give away every live code. Keyed with a secret that is not in the database, the
stored hashes say nothing. The secret is ``server_secret`` from the settings (for replicas sharing
one database, give them all the same), else ``<home>/server.secret``, created 0600 on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..errors import InvalidRequest
from ..files import make_private, private_dir, storage_error, write_private

SECRET_FILE = "server.secret"
MIN_SECRET_CHARS = 32


def load_secret(configured: str, home: Path) -> bytes:
    """The configured secret, else the home's secret file (created if missing).

    Raises:
        InvalidRequest: a configured or stored secret shorter than 32 characters.
        StorageError: the secret file cannot be created or read.
    """
    if configured:
        return _checked(configured, "server_secret")
    path = private_dir(home) / SECRET_FILE
    if not path.exists():
        _create(path)
    make_private(path)
    try:
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    except OSError as exc:
        raise storage_error(exc, path, "read") from exc


def _create(path: Path) -> None:
    """Write a new random secret to ``path`` unless another process just did (a hard link is atomic)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_private(temporary, (secrets.token_hex(32) + "\n").encode("utf-8"))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race; its secret is the one
    except OSError as exc:
        raise storage_error(exc, path, "create") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _checked(value: str, where: str) -> bytes:
    if len(value) < MIN_SECRET_CHARS:
        raise InvalidRequest(f"{where}: the server secret must be at least {MIN_SECRET_CHARS} characters")
    return value.encode("utf-8")


def code_digest(secret: bytes, email: str, code: str) -> str:
    """What a sign-in code is stored as: HMAC-SHA256 under the server secret, bound to its email."""
    return hmac.new(secret, f"{email}\n{code}".encode(), hashlib.sha256).hexdigest()
