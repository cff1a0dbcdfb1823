"""``memorylayer sync`` between two homes of one user ("two machines") through the real server.

Every failure case checks that the local namespace is exactly as it was before the failed pull.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from registry_support import Registry, User

from memorylayer.registry.client import RegistryClient
from memorylayer.server import admin
from memorylayer.sync.blob import MAGIC, Secret, new_header, seal
from support import sync_frames

FAST_ARGON2 = {"memory_kib": 64, "iterations": 1, "lanes": 1}  # stored in the header; tests need speed


def _second_home(user: User, tmp_path: Path, pytestconfig: pytest.Config, name: str = "laptop") -> User:
    database = ""
    if pytestconfig.getoption("--backend") == "postgres":
        from postgres_server import shared

        database = shared().new_database()
    return replace(user, home=tmp_path / name, database=database)


def _state(user: User, namespace: str) -> list[tuple[Any, ...]]:
    listed = user.run("list", "-n", namespace, "--limit", "1000", "--json")
    assert listed.code == 0, listed.out
    return sorted((m["id"], m["key"], m["value"], m["updated_at"]) for m in listed.json["memories"])


def _client(user: User) -> RegistryClient:
    return RegistryClient(user.url, user.key)


@pytest.fixture
def desk(alice: User, tmp_path: Path, pytestconfig: pytest.Config) -> User:
    return _second_home(alice, tmp_path, pytestconfig, "desk")


@pytest.fixture
def laptop(alice: User, tmp_path: Path, pytestconfig: pytest.Config) -> User:
    return _second_home(alice, tmp_path, pytestconfig, "laptop")


@pytest.mark.parametrize("key_args", [(), ("--key", "correct horse battery staple")], ids=["api-key", "passphrase"])
def test_a_namespace_moves_between_two_machines_with_its_ids_and_times(
    desk: User, laptop: User, key_args: tuple[str, ...]
) -> None:
    namespace = f"work-{len(key_args)}"
    desk.remember(namespace, "Deploys go out on Tuesdays", "The VPN endpoint is vpn.internal")
    assert desk.run("remember", "Helix", "--key", "editor", "-n", namespace).code == 0
    pushed = desk.run("sync", "push", "-n", namespace, *key_args, "--json")
    assert pushed.code == 0, pushed.out
    assert pushed.json["memories"] == 3 and pushed.json["size"] > 0
    assert pushed.json["keyMode"] == ("passphrase" if key_args else "api-key")

    pulled = laptop.run("sync", "pull", "-n", namespace, *key_args, "--json")
    assert pulled.code == 0, pulled.out
    assert pulled.json == {"namespace": namespace, "added": 3, "updated": 0, "unchanged": 0, "skipped": 0}
    assert _state(laptop, namespace) == _state(desk, namespace)
    recalled = laptop.run("search", "which editor", "-n", namespace, "--json")
    assert recalled.code == 0 and "Helix" in recalled.out  # vectors came along: recall works at once

    again = laptop.run("sync", "pull", "-n", namespace, *key_args, "--json")
    assert again.json["added"] == 0 and again.json["unchanged"] == 3

    status = laptop.run("sync", "status", "--json")
    assert status.code == 0
    entry = next(n for n in status.json["namespaces"] if n["namespace"] == namespace)
    assert entry["memories"] == 3 and entry["size"] == pushed.json["size"] and entry["pushedAt"] > 0


def test_expiry_travels_with_the_namespace(desk: User, laptop: User) -> None:
    assert desk.run("remember", "Parcel arrives Tuesday", "--ttl", "7d", "-n", "errands").code == 0
    desk.remember("errands", "The post office closes at six")
    assert desk.run("sync", "push", "-n", "errands").code == 0
    assert laptop.run("sync", "pull", "-n", "errands").code == 0

    def expiring(user: User) -> list[tuple[str, int]]:
        listed = user.run("list", "-n", "errands", "--expiring", "--json").json["memories"]
        return [(m["value"], m["expires_at"]) for m in listed]

    assert expiring(laptop) == expiring(desk) and [v for v, _ in expiring(laptop)] == ["Parcel arrives Tuesday"]


def test_pull_is_additive_newer_wins_and_history_is_kept(desk: User, laptop: User) -> None:
    ns = "merge"
    for machine in (desk, laptop):
        assert machine.run("remember", "tabs", "--key", "indent", "-n", ns).code == 0
        assert machine.run("remember", "dark", "--key", "theme", "-n", ns).code == 0
    assert desk.run("sync", "push", "-n", ns).code == 0
    desk.run("sync", "pull", "-n", ns)  # nothing to take: the desk's copy is the remote
    # Now the laptop's copies differ: ids differ (made apart), so keys match them.
    assert desk.run("remember", "spaces", "--key", "indent", "-n", ns).code == 0  # newer on the desk
    assert desk.run("sync", "push", "-n", ns).code == 0
    assert laptop.run("remember", "light", "--key", "theme", "-n", ns).code == 0  # newer on the laptop
    laptop.remember(ns, "Only the laptop knows this")

    pulled = laptop.run("sync", "pull", "-n", ns, "--json")
    assert pulled.code == 0, pulled.out
    assert pulled.json["updated"] == 1 and pulled.json["added"] == 0
    values = {key: value for _, key, value, _ in _state(laptop, ns)}
    assert values == {"indent": "spaces", "theme": "light", None: "Only the laptop knows this"}
    history = laptop.run("history", "--key", "indent", "-n", ns, "--json")
    assert history.code == 0 and "tabs" in history.out


def test_push_makes_the_remote_authoritative(
    desk: User, laptop: User, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    ns = "authority"
    desk.remember(ns, "First fact")
    assert desk.run("sync", "push", "-n", ns).code == 0
    desk.remember(ns, "Second fact")
    laptop.remember(ns, "The laptop's own fact")
    assert laptop.run("sync", "push", "-n", ns).code == 0  # replaces the desk's blob entirely
    pulled = desk.run("sync", "pull", "-n", ns, "--json")
    assert pulled.json["added"] == 1
    # A third machine sees only the last push: the desk's first push is gone from the server.
    fresh = _second_home(desk, tmp_path, pytestconfig, "fresh")
    assert sorted(v for _, _, v, _ in _pull_into(fresh, ns)) == ["The laptop's own fact"]


def _pull_into(user: User, ns: str, *args: str) -> list[tuple[Any, ...]]:
    assert user.run("sync", "pull", "-n", ns, *args).code == 0
    return _state(user, ns)


def _upload(user: User, ns: str, blob: bytes, memories: int = 1) -> None:
    with _client(user) as client:
        client.sync_push(ns, memories, io.BytesIO(blob))


def _download(user: User, ns: str) -> bytes:
    out = io.BytesIO()
    with _client(user) as client:
        client.sync_pull(ns, out)
    return out.getvalue()


def _big_snapshot(ns: str, count: int) -> bytes:
    import json

    lines = [{"snapshot": 1, "namespace": ns, "memories": count, "model": "none", "dimensions": 0}]
    for i in range(count):
        lines.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "key": f"fact-{i}",
                "value": f"fact number {i} " + "x" * 400,
                "metadata": {},
                "importance": 0.5,
                "source": "explicit",
                "created_at": 1_700_000_000_000,
                "updated_at": 1_700_000_000_000,
                "model": None,
                "vector": None,
            }
        )
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _damage(blob: bytes, kind: str) -> bytes:
    prefix, frames = sync_frames(blob)
    if kind == "truncated":
        return blob[: len(blob) // 2]
    if kind == "final-chunk-dropped":
        return prefix + b"".join(frames[:-1])
    if kind == "bit-flipped":
        return blob[:-100] + bytes([blob[-100] ^ 0x40]) + blob[-99:]
    if kind == "chunks-reordered":
        return prefix + frames[1] + frames[0] + b"".join(frames[2:])
    if kind == "header-edited":
        return blob.replace(b'"lanes":1', b'"lanes":2', 1)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "wrong-passphrase",
        "no-passphrase",
        "truncated",
        "final-chunk-dropped",
        "bit-flipped",
        "chunks-reordered",
        "header-edited",
    ],
)
def test_a_wrong_key_or_a_tampered_blob_is_a_clear_error_that_changes_nothing(
    desk: User, laptop: User, kind: str
) -> None:
    ns = f"tamper-{kind}"
    secret = Secret("passphrase", "pw")
    plain = _big_snapshot(ns, 3_000)  # about 1.3 MB: two chunks at least
    sealed = io.BytesIO()
    seal(io.BytesIO(plain), sealed, secret, new_header(secret, ns, argon2=FAST_ARGON2))
    blob = sealed.getvalue()
    assert len(sync_frames(blob)[1]) >= 2
    laptop.remember(ns, "Something only the laptop has")
    before = _state(laptop, ns)
    args = ["--key", "pw"]
    if kind == "wrong-passphrase":
        args = ["--key", "not the passphrase"]
    elif kind == "no-passphrase":
        args = []
    else:
        blob = _damage(blob, kind)
    _upload(desk, ns, blob, 3_000)
    pulled = laptop.run("sync", "pull", "-n", ns, *args, "--json")
    assert pulled.code != 0 and pulled.error == "integrity_error", pulled.out
    assert _state(laptop, ns) == before


def test_an_undamaged_multi_chunk_blob_from_another_client_pulls_whole(laptop: User, desk: User) -> None:
    ns = "many"
    secret = Secret("passphrase", "pw")
    sealed = io.BytesIO()
    seal(io.BytesIO(_big_snapshot(ns, 3_000)), sealed, secret, new_header(secret, ns, argon2=FAST_ARGON2))
    _upload(desk, ns, sealed.getvalue(), 3_000)
    pulled = laptop.run("sync", "pull", "-n", ns, "--key", "pw", "--json")
    assert pulled.code == 0, pulled.out
    assert pulled.json["added"] == 3_000


def test_a_blob_swapped_into_another_namespace_is_refused(desk: User, laptop: User) -> None:
    desk.remember("swap-a", "From namespace a")
    assert desk.run("sync", "push", "-n", "swap-a").code == 0
    _upload(desk, "swap-b", _download(desk, "swap-a"))  # a server moving blobs between names
    pulled = laptop.run("sync", "pull", "-n", "swap-b", "--json")
    assert pulled.error == "integrity_error" and "swap-a" in pulled.out
    assert _state(laptop, "swap-b") == []


def test_an_oversize_push_is_refused_and_the_previous_blob_stays(
    registry: Registry, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    erin = registry["erin"]
    state = registry.state
    erin.remember("big", "The previous, good push")
    assert erin.run("sync", "push", "-n", "big").code == 0
    admin.set_plan(state.store, state.server, erin.email, "free")
    try:
        limit = state.server.plan("free").sync_bytes
        with pytest.raises(Exception) as raised:
            _upload(erin, "big", MAGIC + b"\x00" * limit)
        assert getattr(raised.value, "code", "") == "payload_too_large"
    finally:
        admin.set_plan(state.store, state.server, erin.email, "pro")
    other = _second_home(erin, tmp_path, pytestconfig)
    assert [v for _, _, v, _ in _pull_into(other, "big")] == ["The previous, good push"]


def test_not_a_sync_blob_is_refused_by_the_server(alice: User) -> None:
    with pytest.raises(Exception) as raised:
        _upload(alice, "junk", b"PK\x03\x04 not ours")
    assert getattr(raised.value, "code", "") == "invalid_request"


def test_another_users_namespace_is_theirs_alone(alice: User, bob: User, tmp_path: Path) -> None:
    alice.remember("private", "Alice's secret plan")
    assert alice.run("sync", "push", "-n", "private").code == 0
    pulled = bob.run("sync", "pull", "-n", "private", "--json")
    assert pulled.code != 0 and pulled.error == "not_found"
    assert bob.values("private") == []
    bob.remember("private", "Bob's own notes")
    assert bob.run("sync", "push", "-n", "private").code == 0  # his own blob, not a replacement of hers
    assert "Alice's secret plan" not in str(bob.run("sync", "status", "--json").json)
    mine = alice.run("sync", "status", "--json").json["namespaces"]
    assert next(n for n in mine if n["namespace"] == "private")["memories"] == 1


def test_sync_needs_a_login_and_a_namespace_that_exists(alice: User) -> None:
    assert alice.run("sync", "push", "-n", "nothing-here", "--json").error == "invalid_request"
    assert alice.run("sync", "status", "--json", key=None).error == "unauthorized"
