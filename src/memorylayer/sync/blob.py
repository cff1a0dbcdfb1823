"""The sync file format, version 1: an authenticated header, then AES-256-GCM chunks (docs/sync.md).

::

    magic   b"MLSYNC" + format version (u16, big-endian)      8 bytes
    length  of the header (u32, big-endian)                    4 bytes
    header  JSON (UTF-8): cipher, kdf {name, salt, params}, nonce prefix, chunk size, namespace
    chunks  u32 length + ciphertext-with-tag, repeated; the last one is flagged final

Chunk ``i`` is sealed with nonce ``prefix(8) || i (u32)`` and associated data
``SHA-256(magic || length || header) || i (u32) || final (1 byte)``, so an edited header, a chunk
moved, dropped or repeated, a blob cut short (no final chunk) or extended (bytes after it) all fail
authentication. The key is fresh per push (a random salt), derived by HKDF-SHA256 from the API key or
by Argon2id from a passphrase, with the KDF's parameters capped before use so a hostile header cannot
make the reader spend unbounded memory or time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import IntegrityError, InvalidRequest

FORMAT_VERSION = 1
MAGIC = b"MLSYNC" + struct.pack(">H", FORMAT_VERSION)
CIPHER = "aes-256-gcm"
CHUNK_BYTES = 1 << 20  # plaintext per chunk: memory stays at a few MiB however large the namespace
HEADER_MAX_BYTES = 4096
HKDF_INFO = b"memorylayer sync v1 aes-256-gcm"
#: RFC 9106's second recommended setting (64 MiB, 3 passes, 4 lanes).
ARGON2_DEFAULTS = {"memory_kib": 65_536, "iterations": 3, "lanes": 4}
#: What a reader accepts from a header before deriving anything (a header is read before it is checked).
ARGON2_CAPS = {"memory_kib": 262_144, "iterations": 10, "lanes": 16}
_TAG = 16


@dataclass(frozen=True)
class Secret:
    """What the key comes from: the API key (``hkdf-sha256``) or a passphrase (``argon2id``)."""

    kind: str  # "api-key" | "passphrase"
    value: str

    @classmethod
    def of(cls, api_key: str | None, passphrase: str | None) -> Secret:
        if passphrase is not None:
            if not passphrase:
                raise InvalidRequest("--key: the passphrase is empty")
            return cls("passphrase", passphrase)
        if not api_key:
            raise InvalidRequest("no API key to derive the sync key from: log in, or pass --key PASSPHRASE")
        return cls("api-key", api_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, field: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise IntegrityError(f"sync blob header: {field} is not {size} bytes of base64")
    return raw


def _derive(secret: Secret, kdf: dict[str, Any]) -> bytes:
    salt = _unb64(kdf.get("salt"), "kdf.salt", 16)
    name = kdf.get("name")
    if secret.kind == "api-key":
        if name != "hkdf-sha256":
            raise IntegrityError(f"this blob was pushed with a passphrase ({name}): pass the same --key to pull it")
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(
            secret.value.encode("utf-8")
        )
    if name != "argon2id":
        raise IntegrityError("this blob was pushed without --key (its key comes from the API key): drop --key")
    params = {}
    for field, cap in ARGON2_CAPS.items():
        value = kdf.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= cap:
            raise IntegrityError(f"sync blob header: kdf.{field} must be 1-{cap:,}, not {value!r}")
        params[field] = value
    if params["memory_kib"] < 8 * params["lanes"]:
        raise IntegrityError("sync blob header: kdf.memory_kib must be at least 8 per lane")
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params["iterations"],
        lanes=params["lanes"],
        memory_cost=params["memory_kib"],
    ).derive(secret.value.encode("utf-8"))


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">IB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def new_header(secret: Secret, namespace: str, *, argon2: dict[str, int] | None = None) -> dict[str, Any]:
    """A header with a fresh salt and nonce prefix (so every push has its own key)."""
    kdf: dict[str, Any] = {"salt": _b64(os.urandom(16))}
    if secret.kind == "api-key":
        kdf["name"] = "hkdf-sha256"
    else:
        kdf.update({"name": "argon2id", **(argon2 or ARGON2_DEFAULTS)})
    return {
        "format": FORMAT_VERSION,
        "cipher": CIPHER,
        "kdf": kdf,
        "nonce_prefix": _b64(os.urandom(8)),
        "chunk_bytes": CHUNK_BYTES,
        "namespace": namespace,
    }


def seal(plaintext: IO[bytes], out: IO[bytes], secret: Secret, header: dict[str, Any]) -> int:
    """Encrypt ``plaintext`` (read to its end) into ``out`` under ``header``; returns the bytes written."""
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    prefix = MAGIC + struct.pack(">I", len(encoded)) + encoded
    digest = hashlib.sha256(prefix).digest()
    aes = AESGCM(_derive(secret, header["kdf"]))
    nonce = _unb64(header["nonce_prefix"], "nonce_prefix", 8)
    written = out.write(prefix)
    index, chunk = 0, plaintext.read(CHUNK_BYTES)
    while True:
        following = plaintext.read(CHUNK_BYTES) if chunk else b""
        final = not following
        sealed = aes.encrypt(_nonce(nonce, index), chunk, _aad(digest, index, final))
        written += out.write(struct.pack(">I", len(sealed)) + sealed)
        if final:
            return written
        index, chunk = index + 1, following


def _exactly(source: IO[bytes], size: int, what: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise IntegrityError(f"the sync blob is truncated ({what} cut short); nothing was changed")
    return data


def read_header(source: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    """The header (not yet authenticated: that needs the key) and the SHA-256 the chunks are bound to."""
    magic = _exactly(source, len(MAGIC), "magic")
    if magic[:6] != MAGIC[:6]:
        raise IntegrityError("not a MemoryLayer sync blob (bad magic bytes)")
    if magic != MAGIC:
        version = struct.unpack(">H", magic[6:])[0]
        raise IntegrityError(f"sync blob format {version} is not supported by this version (it reads {FORMAT_VERSION})")
    raw_length = _exactly(source, 4, "header length")
    (length,) = struct.unpack(">I", raw_length)
    if length > HEADER_MAX_BYTES:
        raise IntegrityError(f"sync blob header is {length:,} bytes (at most {HEADER_MAX_BYTES:,})")
    encoded = _exactly(source, length, "header")
    try:
        header = json.loads(encoded.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise IntegrityError("sync blob header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION or header.get("cipher") != CIPHER:
        raise IntegrityError(f"sync blob header: expected format {FORMAT_VERSION} with {CIPHER}")
    if not isinstance(header.get("kdf"), dict):
        raise IntegrityError("sync blob header: kdf is missing")
    return header, hashlib.sha256(magic + raw_length + encoded).digest()


def open_blob(source: IO[bytes], secret: Secret) -> Iterator[bytes]:
    """The plaintext chunks of a blob, each yielded only after its tag checked.

    The caller must treat everything yielded as unverified until the iterator is exhausted: only the
    final chunk proves the blob was not cut short. (:func:`memorylayer.sync.client.pull` decrypts
    into a private temporary file first and merges only then.)

    Raises:
        IntegrityError: wrong key or passphrase, an edited header, a chunk altered, moved, missing or
            added, or bytes after the final chunk.
    """
    header, digest = read_header(source)
    aes = AESGCM(_derive(secret, header["kdf"]))
    nonce = _unb64(header.get("nonce_prefix"), "nonce_prefix", 8)
    limit = CHUNK_BYTES + _TAG
    index = 0
    while True:
        raw = source.read(4)
        if len(raw) < 4:
            raise IntegrityError("the sync blob is truncated (its final chunk is missing); nothing was changed")
        (size,) = struct.unpack(">I", raw)
        if not _TAG <= size <= limit:
            raise IntegrityError(f"sync blob chunk {index}: bad length {size:,}")
        sealed = _exactly(source, size, f"chunk {index}")
        for final in (False, True):
            try:
                plain = aes.decrypt(_nonce(nonce, index), sealed, _aad(digest, index, final))
            except InvalidTag:
                continue
            yield plain
            if final:
                if source.read(1):
                    raise IntegrityError("the sync blob has bytes after its final chunk; nothing was changed")
                return
            break
        else:
            if index == 0:
                raise IntegrityError(
                    "the sync blob does not decrypt: wrong key or passphrase, or the blob was altered; "
                    "nothing was changed"
                )
            raise IntegrityError(f"sync blob chunk {index} failed authentication (altered or reordered)")
        index += 1
