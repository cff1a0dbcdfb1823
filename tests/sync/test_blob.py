"""The sync file format on its own: round trips, and every kind of damage is a clear IntegrityError."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest

from memorylayer.errors import IntegrityError, InvalidRequest
from memorylayer.sync.blob import CHUNK_BYTES, MAGIC, Secret, new_header, open_blob, seal
from support import sync_frames

FAST_ARGON2 = {"memory_kib": 64, "iterations": 1, "lanes": 1}  # the format stores them; tests need speed
API = Secret("api-key", "wm_live_example_key")
PASS = Secret("passphrase", "correct horse battery staple")
VECTORS = Path(__file__).parent / "vectors"


def _sealed(plaintext: bytes, secret: Secret = API, namespace: str = "work") -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(plaintext), out, secret, new_header(secret, namespace, argon2=FAST_ARGON2))
    return out.getvalue()


def _open(blob: bytes, secret: Secret = API) -> bytes:
    return b"".join(open_blob(io.BytesIO(blob), secret))


@pytest.mark.parametrize("secret", [API, PASS], ids=["api-key", "passphrase"])
@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 7])
def test_what_is_sealed_opens_to_the_same_bytes(secret: Secret, size: int) -> None:
    plaintext = bytes(i % 251 for i in range(size))
    blob = _sealed(plaintext, secret)
    assert blob.startswith(MAGIC) and plaintext[:64] not in blob[12:] if size >= 64 else True
    assert _open(blob, secret) == plaintext


def test_every_push_has_its_own_salt_and_nonce() -> None:
    assert _sealed(b"same") != _sealed(b"same")


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (Secret("api-key", "wm_live_another_key"), "wrong key or passphrase"),
        (Secret("passphrase", "wrong"), "pushed without --key"),
    ],
)
def test_a_wrong_key_is_a_clear_error(wrong: Secret, message: str) -> None:
    with pytest.raises(IntegrityError, match=message):
        _open(_sealed(b"secret"), wrong)


def test_a_wrong_passphrase_and_a_missing_one_are_clear_errors() -> None:
    blob = _sealed(b"secret", PASS)
    with pytest.raises(IntegrityError, match="wrong key or passphrase"):
        _open(blob, Secret("passphrase", "not it"))
    with pytest.raises(IntegrityError, match="pass the same --key"):
        _open(blob, API)


def _damaged(kind: str) -> bytes:
    blob = _sealed(b"m" * (2 * CHUNK_BYTES + 100))
    prefix, frames = sync_frames(blob)
    assert len(frames) == 3
    if kind == "bit-flip":
        return blob[:-200] + bytes([blob[-200] ^ 1]) + blob[-199:]
    if kind == "truncated-mid-chunk":
        return blob[: len(blob) - 50]
    if kind == "truncated-at-chunk":
        return prefix + frames[0] + frames[1]  # whole chunks, the final one missing
    if kind == "reordered":
        return prefix + frames[1] + frames[0] + frames[2]
    if kind == "chunk-repeated":
        return prefix + frames[0] + frames[0] + frames[1] + frames[2]
    if kind == "trailing-bytes":
        return blob + b"\x00"
    if kind == "header-edited":
        return blob.replace(b'"namespace":"work"', b'"namespace":"wxrk"', 1)
    if kind == "header-cut":
        return blob[:10]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "bit-flip",
        "truncated-mid-chunk",
        "truncated-at-chunk",
        "reordered",
        "chunk-repeated",
        "trailing-bytes",
        "header-edited",
        "header-cut",
    ],
)
def test_a_damaged_blob_never_opens(kind: str) -> None:
    with pytest.raises(IntegrityError):
        _open(_damaged(kind))


def _with_header(blob: bytes, change: dict[str, object]) -> bytes:
    (length,) = struct.unpack(">I", blob[8:12])
    header = json.loads(blob[12 : 12 + length])
    header["kdf"].update(change)
    encoded = json.dumps(header).encode()
    return blob[:8] + struct.pack(">I", len(encoded)) + encoded + blob[12 + length :]


@pytest.mark.parametrize("change", [{"memory_kib": 10**9}, {"iterations": 10**6}, {"lanes": 0}, {"memory_kib": "x"}])
def test_argon2_parameters_beyond_the_caps_are_refused_before_any_work(change: dict[str, object]) -> None:
    with pytest.raises(IntegrityError, match="kdf"):
        _open(_with_header(_sealed(b"x", PASS), change), PASS)


def test_a_blob_of_a_later_format_names_its_version() -> None:
    blob = _sealed(b"x")
    with pytest.raises(IntegrityError, match="format 2 is not supported"):
        _open(blob[:6] + struct.pack(">H", 2) + blob[8:])
    with pytest.raises(IntegrityError, match="not a MemoryLayer sync blob"):
        _open(b"PK\x03\x04" + blob[4:])


def test_an_empty_passphrase_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        Secret.of("key", "")


@pytest.mark.parametrize(
    ("name", "secret"),
    [("api-key.mlsync", API), ("passphrase.mlsync", PASS)],
)
def test_the_format_test_vectors_in_the_repository_decrypt_to_their_known_namespace(name: str, secret: Secret) -> None:
    plaintext = _open((VECTORS / name).read_bytes(), secret)
    assert plaintext == (VECTORS / "snapshot.jsonl").read_bytes()
