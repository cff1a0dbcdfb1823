"""Private packages, collaborators, share links (expiry, uses, concurrent installs) and org roles."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from registry_support import Registry, User

from memorylayer.engine import Engine
from memorylayer.errors import IntegrityError, ShareLinkUsedUp
from memorylayer.registry.client import RegistryClient
from memorylayer.registry.local import install


@pytest.fixture(scope="module")
def secret(registry: Registry) -> str:
    alice = registry["alice"]
    directory = alice.package("@alice/secret", "secret", "The vault code rotates monthly")
    out = alice.publish(directory, "--access", "private")
    assert out.code == 0, out.out
    return "@alice/secret"


def test_a_private_package_is_invisible_to_outsiders_and_open_to_collaborators(
    secret: str, alice: User, bob: User, carol: User
) -> None:
    for args in (("add", secret), ("info", secret)):
        out = carol.run(*args, "--json")
        assert out.code == 3 and out.error == "not_found"
    anonymous = carol.run("info", secret, "--json", key=None)
    assert anonymous.code == 3 and anonymous.error == "not_found"
    assert carol.run("search-packages", "vault", "--json").json["packages"] == []

    added = alice.run("share", secret, "--add", "bob", "--json")
    assert added.code == 0 and added.json["collaborators"] == [{"username": "bob", "role": "reader"}]
    installed = bob.run("add", secret, "--json")
    assert installed.code == 0 and installed.json["installed"][0]["added"] == 1
    # A reader installs, never publishes, and cannot manage access.
    bob.remember("secret", "Bob's change")
    directory = bob.home / "secret-copy"
    directory.mkdir()
    (directory / "memory.json").write_text(
        '{"name": "@alice/secret", "version": "1.0.1", "memorylayer": {"namespace": "secret"}}'
    )
    published = bob.publish(directory)
    assert published.code == 4 and published.error == "forbidden"
    managed = bob.run("share", secret, "--add", "carol", "--json")
    assert managed.code == 4 and managed.error == "forbidden"
    assert alice.run("share", secret, "--remove", "bob", "--json").json["collaborators"] == []
    assert bob.run("add", secret, "-n", "again", "--json").error == "not_found"


def test_share_links_run_out_and_expire(registry: Registry, secret: str, alice: User, carol: User, dave: User) -> None:
    created = alice.run("share", secret, "--max-uses", "1", "--json")
    assert created.code == 0
    token = created.json["token"]
    assert created.json["command"] == f"memorylayer add {secret} --key {token}"
    assert created.json["link"]["maxUses"] == 1
    first = carol.run("add", secret, "--key", token, "--json")
    assert first.code == 0 and first.json["installed"][0]["added"] == 1
    second = dave.run("add", secret, "--key", token, "--json")
    assert second.code == 4 and second.error == "share_link_used_up"

    short = alice.run("share", secret, "--expires", "2", "--json").json["token"]
    assert dave.run("info", secret, "--key", short, "--json").code == 0
    registry.clock.advance(2 * 3600 + 1)
    try:
        expired = dave.run("add", secret, "--key", short, "--json")
        assert expired.code == 4 and expired.error == "share_link_expired"
    finally:
        registry.clock.advance(-(2 * 3600 + 1))
    listed = alice.run("share", secret, "--list", "--json").json
    assert {(link["maxUses"], link["uses"]) for link in listed["shareLinks"]} >= {(1, 1), (None, 0)}


def test_concurrent_installs_never_take_more_uses_than_the_link_allows(
    registry: Registry, secret: str, alice: User, tmp_path: Path
) -> None:
    token = alice.run("share", secret, "--max-uses", "3", "--json").json["token"]

    def attempt(n: int) -> str:
        # Machines apart: each installer its own SQLite home (the server's database may be PostgreSQL).
        engine = Engine.open(tmp_path / f"installer-{n}", database=f"sqlite:///{tmp_path / f'installer-{n}.db'}")
        try:
            with RegistryClient(registry.url, None) as client:
                install(engine, client, secret, share=token)
            return "installed"
        except ShareLinkUsedUp:
            return "used_up"
        finally:
            engine.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert sorted(outcomes).count("installed") == 3 and outcomes.count("used_up") == 9


def test_a_failed_install_gives_its_share_use_back(registry: Registry, secret: str, alice: User) -> None:
    created = alice.run("share", secret, "--max-uses", "1", "--json").json
    with RegistryClient(registry.url, None) as client:
        version = client.info(secret, created["token"])["versions"][0]["version"]
        with pytest.raises(IntegrityError):
            client.download(secret, version, "sha512-not-the-hash", io.BytesIO(), share=created["token"])
    links = alice.run("share", secret, "--list", "--json").json["shareLinks"]
    assert [link["uses"] for link in links if link["id"] == created["link"]["id"]] == [0]


def test_org_members_publish_admins_manage_and_the_last_admin_stays(alice: User, bob: User, carol: User) -> None:
    made = alice.run("org", "create", "acme", "Acme Inc", "--json")
    assert made.code == 0 and made.json["org"]["members"] == [{"username": "alice", "role": "admin"}]
    taken = carol.run("org", "create", "alice", "Not Alice", "--json")
    assert taken.code == 1 and taken.error == "scope_taken"
    assert carol.run("org", "create", "acme", "Again", "--json").error == "scope_taken"
    assert alice.run("org", "add-member", "acme", "bob", "--json").code == 0

    kb = bob.package("@acme/kb", "kb", "Acme ships on Thursdays")
    assert bob.publish(kb, "--access", "private").code == 0  # a member publishes under the org
    assert alice.run("add", "@acme/kb", "--json").code == 0  # and every member installs its private packages
    assert carol.run("add", "@acme/kb", "--json").error == "not_found"
    outsider = carol.package("@acme/intruder", "intruder", "Carol's note")
    assert carol.publish(outsider).error == "forbidden"

    assert bob.run("org", "add-member", "acme", "carol", "--json").error == "forbidden"  # members do not manage
    assert bob.run("share", "@acme/kb", "--json").error == "forbidden"  # nor create share links
    last = alice.run("org", "remove-member", "acme", "alice", "--json")
    assert last.code == 1 and last.error == "last_admin"
    assert alice.run("org", "set-role", "acme", "alice", "member", "--json").error == "last_admin"
    promoted = alice.run("org", "set-role", "acme", "bob", "admin", "--json")
    assert {m["username"]: m["role"] for m in promoted.json["org"]["members"]} == {"alice": "admin", "bob": "admin"}
    assert bob.run("share", "@acme/kb", "--json").code == 0  # an admin shares
    left = alice.run("org", "remove-member", "acme", "alice", "--json")
    assert left.code == 0 and left.json["org"]["members"] == [{"username": "bob", "role": "admin"}]
    assert alice.run("add", "@acme/kb", "-n", "after", "--json").error == "not_found"
