"""Push, pull and status of a namespace, on the client: everything is encrypted or decrypted here.

``push`` writes the namespace's snapshot to a private temporary file, seals it into a second one and
uploads that; the server's copy becomes the snapshot (the seed: push makes the remote authoritative).
``pull`` downloads the blob into a private temporary file, decrypts and verifies all of it into
another, and merges only once the final chunk has been authenticated, in one transaction, so a wrong
key or a damaged blob changes nothing. Temporary files live in ``<home>/sync/tmp`` (mode 0700) and are
removed afterwards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import validation as v
from ..errors import InvalidRequest
from ..files import private_dir
from .blob import Secret, new_header, open_blob, seal
from .snapshot import Merged, merge_snapshot, write_snapshot

if TYPE_CHECKING:
    from ..engine import Engine
    from ..registry.client import RegistryClient

Progress = Callable[[str, int, int], None]


def _scratch(engine: Engine) -> Path:
    return private_dir(engine.settings.home / "sync" / "tmp")


def _stage(progress: Progress | None, label: str) -> Callable[[int, int], None] | None:
    return None if progress is None else (lambda done, total: progress(label, done, total))


def push(
    engine: Engine,
    client: RegistryClient,
    namespace: str,
    passphrase: str | None = None,
    *,
    progress: Progress | None = None,
    argon2: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Encrypt ``namespace`` and replace its blob on the server; returns what the server recorded."""
    scope = v.scope(namespace, "namespace")
    if not engine.scope_exists(scope):
        raise InvalidRequest(f"namespace {scope!r} does not exist here: nothing to push")
    secret = Secret.of(client.key, passphrase)
    scratch = _scratch(engine)
    with tempfile.TemporaryFile(dir=scratch) as plain, tempfile.TemporaryFile(dir=scratch) as sealed:
        count = write_snapshot(engine, scope, plain, _stage(progress, "exporting"))
        plain.seek(0)
        size = seal(plain, sealed, secret, new_header(secret, scope, argon2=argon2))
        sealed.seek(0)
        pushed = client.sync_push(scope, count, sealed, _stage(progress, "uploading"))
    return {**pushed, "memories": count, "size": size, "keyMode": secret.kind}


def pull(
    engine: Engine,
    client: RegistryClient,
    namespace: str,
    passphrase: str | None = None,
    *,
    progress: Progress | None = None,
) -> Merged:
    """Download, verify and decrypt the namespace's blob, then merge it (see :mod:`.snapshot`)."""
    scope = v.scope(namespace, "namespace")
    secret = Secret.of(client.key, passphrase)
    scratch = _scratch(engine)
    with tempfile.TemporaryFile(dir=scratch) as blob, tempfile.TemporaryFile(dir=scratch) as plain:
        client.sync_pull(scope, blob, _stage(progress, "downloading"))
        blob.seek(0)
        for chunk in open_blob(blob, secret):  # every tag checked, the final chunk included, before merging
            plain.write(chunk)
        plain.seek(0)
        return merge_snapshot(engine, scope, plain, _stage(progress, "merging"))
