"""The registry's records on every backend: names and scopes, orgs, versions, tags, share uses, installs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from store_support import DatabaseUnderTest

from memorylayer.errors import LastAdmin, ScopeTaken, VersionExists
from memorylayer.store import Backend
from memorylayer.store.accounts import AccountStore
from memorylayer.store.registry import Install, Package, RegistryStore, ShareLink, Version


@pytest.fixture
def registry(backend: Backend) -> RegistryStore:
    return backend.registry


def _account(accounts: AccountStore, email: str) -> str:
    made = accounts.create_account(email, plan_tier="free", memory_limit=10, monthly_api_call_limit=10, now=1)
    return made.id


def _package(registry: RegistryStore, owner: str, name: str = "@ada/notes") -> Package:
    package = Package(name, name[1:].split("/")[0], owner, "notes", ["a"], False, 1, 1)
    registry.upsert_package(package)
    return package


def test_usernames_are_unique_and_share_one_namespace_with_org_slugs(
    registry: RegistryStore, accounts: AccountStore
) -> None:
    ada, other = _account(accounts, "ada@example.com"), _account(accounts, "ada@elsewhere.example")
    assert registry.claim_username(ada, "ada", now=1) == "ada"
    assert registry.claim_username(ada, "something-else", now=2) == "ada"  # once given, kept
    assert registry.claim_username(other, "ada", now=3) == "ada2"
    assert registry.account_of_username("ada2") == other and registry.username_of(other) == "ada2"
    with pytest.raises(ScopeTaken):
        registry.create_org("ada", "Ada's org", ada, now=4)
    registry.create_org("acme", "Acme", ada, now=5)
    third = _account(accounts, "acme@example.com")
    assert registry.claim_username(third, "acme", now=6) == "acme2"


def test_an_org_keeps_at_least_one_admin(registry: RegistryStore, accounts: AccountStore) -> None:
    ada, bob = _account(accounts, "ada@example.com"), _account(accounts, "bob@example.com")
    registry.claim_username(ada, "ada", now=1)
    registry.claim_username(bob, "bob", now=1)
    registry.create_org("acme", "Acme", ada, now=1)
    registry.set_member("acme", bob, "member")
    with pytest.raises(LastAdmin):
        registry.remove_member("acme", ada)
    with pytest.raises(LastAdmin):
        registry.set_member("acme", ada, "member")
    assert {(m.username, m.role) for m in registry.members("acme")} == {("ada", "admin"), ("bob", "member")}
    registry.set_member("acme", bob, "admin")
    assert registry.remove_member("acme", ada) is True
    assert [m.org for m in registry.orgs_of(bob)] == ["acme"] and registry.orgs_of(ada) == []


def test_versions_are_immutable_and_tags_yanks_and_deprecations_are_kept(
    registry: RegistryStore, accounts: AccountStore
) -> None:
    ada = _account(accounts, "ada@example.com")
    _package(registry, ada)
    version = Version("@ada/notes", "1.0.0", "sha512-x", 10, 2, {"name": "@ada/notes"}, ada, 5)
    registry.add_version(version)
    with pytest.raises(VersionExists):
        registry.add_version(version)
    registry.set_dist_tag("@ada/notes", "latest", "1.0.0")
    registry.set_yanked("@ada/notes", "1.0.0", 9, "bad")
    registry.set_deprecated("@ada/notes", "1.0.0", "old")
    stored = registry.version("@ada/notes", "1.0.0")
    assert stored is not None and (stored.yanked_at, stored.yank_reason, stored.deprecated) == (9, "bad", "old")
    assert stored.manifest == {"name": "@ada/notes"}
    assert registry.dist_tags("@ada/notes") == {"latest": "1.0.0"}
    assert registry.remove_dist_tag("@ada/notes", "latest") and not registry.remove_dist_tag("@ada/notes", "latest")


def test_share_uses_are_taken_atomically_and_given_back_once(
    database: DatabaseUnderTest, registry: RegistryStore, accounts: AccountStore
) -> None:
    ada = _account(accounts, "ada@example.com")
    _package(registry, ada)
    registry.create_share_link(ShareLink("link-1", "@ada/notes", ada, 1, 10_000, 3, 0), "token-hash")

    def take(n: int) -> bool:
        other = database.open()  # another process's view of the same database
        try:
            return other.registry.take_share_use("token-hash", f"claim-{n}", now=5)
        finally:
            other.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(take, range(8)))
    assert taken.count(True) == 3
    assert registry.give_back_share_use(f"claim-{taken.index(True)}") is True
    assert registry.give_back_share_use(f"claim-{taken.index(True)}") is False  # once
    link = registry.share_link_by_hash("token-hash")
    assert link is not None and link.uses == 2
    assert registry.take_share_use("token-hash", "late", now=10_000) is False  # expired


def test_installs_are_recorded_per_namespace_and_keep_earlier_memories(registry: RegistryStore) -> None:
    registry.record_install("local", Install("work", "@ada/notes", "1.0.0", "sha512-a", 1, ["m1", "m2"]))
    registry.record_install("local", Install("work", "@ada/notes", "1.1.0", "sha512-b", 2, ["m3"]))
    found = registry.install("local", "work", "@ada/notes")
    assert found is not None and (found.version, found.memory_ids) == ("1.1.0", ["m1", "m2", "m3"])
    assert [i.scope for i in registry.installs("local")] == ["work"] and registry.installs("other") == []
    assert (
        registry.forget_install("local", "work", "@ada/notes")
        and registry.install("local", "work", "@ada/notes") is None
    )


def test_a_sync_blob_is_per_account_and_namespace_and_a_push_replaces_it(
    registry: RegistryStore, accounts: AccountStore
) -> None:
    from memorylayer.store.registry import SyncBlob

    ada, bo = _account(accounts, "ada@example.com"), _account(accounts, "bo@example.com")
    assert registry.sync_blob(ada, "work") is None and registry.sync_blobs(ada) == []
    first = SyncBlob(ada, "work", "a" * 128, 100, 3, 10)
    assert registry.put_sync_blob(first) is None
    assert registry.put_sync_blob(SyncBlob(bo, "work", "b" * 128, 50, 1, 11)) is None
    second = SyncBlob(ada, "work", "c" * 128, 120, 4, 12)
    assert registry.put_sync_blob(second) == "a" * 128  # the replaced digest, for its bytes to go
    assert registry.sync_blob(ada, "work") == second
    assert registry.sync_blob(bo, "work") == SyncBlob(bo, "work", "b" * 128, 50, 1, 11)
    assert not registry.sync_digest_used("a" * 128) and registry.sync_digest_used("b" * 128)
    registry.put_sync_blob(SyncBlob(ada, "notes", "d" * 128, 1, 0, 13))
    assert [b.namespace for b in registry.sync_blobs(ada)] == ["notes", "work"]
