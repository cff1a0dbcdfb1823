"""Publish and install through the CLI against a real server, as several users."""

from __future__ import annotations

import json
import stat

import httpx
import numpy as np
from registry_support import Registry, User

from memorylayer.registry.archive import PackedMemory, write_package


def test_login_validates_the_key_saves_it_private_and_logout_removes_it(alice: User) -> None:
    bad = alice.run("login", "--token", "wm_live_not-a-key", "--json", key=None)
    assert bad.code == 4 and bad.error == "unauthorized"
    auth = alice.home / "auth.json"
    assert not auth.exists()
    good = alice.run("login", "--token", alice.key, "--json", key=None)
    assert good.code == 0, good.out
    assert good.json["username"] == "alice" and good.json["registry"] == alice.url
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert json.loads(auth.read_text())["registries"][alice.url]["key"] == alice.key
    me = alice.run("whoami", "--json", key=None)  # the saved key, no MEMORY_API_KEY
    assert me.code == 0 and me.json["key_prefix"] == alice.key[:11] and me.json["registry"] == alice.url
    assert alice.run("logout", key=None).code == 0
    gone = alice.run("whoami", "--json", key=None)
    assert gone.code == 4 and gone.error == "unauthorized"


def test_publish_then_install_ranges_tags_and_reinstall(alice: User, bob: User) -> None:
    directory = alice.package(
        "@alice/notes",
        "notes",
        "Deploys run on merge to main",
        "The staging database is reset every Sunday",
        "Code review needs two approvals",
        description="How the team ships",
        keywords=["deploys", "process"],
    )
    first = alice.publish(directory)
    assert first.code == 0, first.out
    assert first.json["memories"] == 3 and first.json["integrity"].startswith("sha512-")
    again = alice.publish(directory)
    assert again.code == 1 and again.error == "version_exists"
    alice.remember("notes", "Hotfixes go through the release branch")
    minor = alice.publish(directory, "--bump", "minor")
    assert minor.code == 0 and minor.json["version"] == "1.1.0"
    assert json.loads((directory / "memory.json").read_text())["version"] == "1.1.0"
    beta = alice.publish(directory, "--bump", "major", "--tag", "beta")
    assert beta.code == 0 and beta.json["version"] == "2.0.0"

    info = bob.run("info", "@alice/notes", "--json")
    assert info.code == 0
    assert info.json["package"]["distTags"] == {"beta": "2.0.0", "latest": "1.1.0"}
    assert [v["version"] for v in info.json["package"]["versions"]] == ["1.0.0", "1.1.0", "2.0.0"]

    installed = bob.run("add", "@alice/notes", "--json")
    assert installed.code == 0, installed.out
    (report,) = installed.json["installed"]
    assert (report["version"], report["namespace"], report["added"]) == ("1.1.0", "@alice/notes", 4)
    assert report["reembedded"] is False  # the package's vectors were made by this model
    memories = bob.run("list", "-n", "@alice/notes", "--json").json["memories"]
    assert {m["metadata"]["package"] for m in memories} == {"@alice/notes"}
    assert {m["metadata"]["package_version"] for m in memories} == {"1.1.0"}

    same = bob.run("add", "@alice/notes@1.1.0", "--json")
    assert same.json["installed"][0]["status"] == "unchanged"
    assert len(bob.values("@alice/notes")) == 4

    for spec, version in (
        ("@alice/notes@~1.0.0", "1.0.0"),
        ("@alice/notes@^1.0", "1.1.0"),
        ("@alice/notes@beta", "2.0.0"),
    ):
        out = bob.run("add", spec, "-n", f"pick-{version}", "--json")
        assert out.code == 0, out.out
        assert out.json["installed"][0]["version"] == version
    none = bob.run("add", "@alice/notes@^3", "--json")
    assert none.code == 3 and none.error == "no_matching_version"
    tag = bob.run("add", "@alice/notes@nightly", "--json")
    assert tag.code == 3 and tag.error == "no_matching_version"


def test_install_skips_duplicates_and_remove_takes_out_only_the_package(
    registry: Registry, alice: User, carol: User
) -> None:
    directory = alice.package("@alice/shared", "shared", "Lunch is at noon", "The office closes at six")
    assert alice.publish(directory).code == 0
    carol.remember("mine", "Lunch is at noon", "My own note")
    out = carol.run("add", "@alice/shared", "-n", "mine", "--json")
    report = out.json["installed"][0]
    assert (report["added"], report["skipped"]) == (1, 1)
    assert carol.values("mine") == ["Lunch is at noon", "My own note", "The office closes at six"]
    removed = carol.run("remove", "@alice/shared", "--json")
    assert removed.code == 0 and removed.json == {"removed": [{"namespace": "mine", "memories": 1}]}
    assert carol.values("mine") == ["Lunch is at noon", "My own note"]
    again = carol.run("remove", "@alice/shared", "--json")
    assert again.code == 3 and again.error == "not_found"


def test_a_near_duplicate_is_merged_into_one_memory(alice: User, dave: User) -> None:
    directory = alice.package("@alice/merge", "merge", "The staging database is reset every Sunday.")
    assert alice.publish(directory).code == 0
    dave.remember("ops", "The staging database is reset every Sunday")
    out = dave.run("add", "@alice/merge", "-n", "ops", "--json")
    report = out.json["installed"][0]
    assert (report["added"], report["merged"], report["skipped"]) == (0, 1, 0)
    (memory,) = dave.run("list", "-n", "ops", "--json").json["memories"]
    assert memory["value"] == "The staging database is reset every Sunday."  # the package's text supersedes
    assert memory["metadata"]["package"] == "@alice/merge"


def test_memories_embedded_by_another_model_are_re_embedded_on_install(
    registry: Registry, alice: User, dave: User
) -> None:
    path = alice.home / "other-model.tgz"
    manifest = {
        "name": "@alice/other-model",
        "version": "1.0.0",
        "memorylayer": {"namespace": "x", "embedding": {"model": "some-other-model", "dimensions": 3}, "memories": 1},
    }
    with path.open("wb") as out:
        memory = PackedMemory(
            None,
            "Invoices are sent on the first of the month",
            {},
            None,
            None,
            "some-other-model",
            np.array([1.0, 0.0, 0.0], dtype=np.float32),
        )
        write_package(out, manifest, [memory])
    uploaded = httpx.put(
        f"{registry.url}/registry/v1/packages/@alice/other-model/versions/1.0.0",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    out = dave.run("add", "@alice/other-model", "-n", "billing", "--json")
    assert out.code == 0 and out.json["installed"][0]["reembedded"] is True
    found = dave.run("search", "when do invoices go out", "-n", "billing", "--json").json["results"]
    assert found and found[0]["value"] == "Invoices are sent on the first of the month"


def test_an_installed_package_keeps_its_memories_expiry_and_leaves_out_the_expired(
    registry: Registry, alice: User, dave: User
) -> None:
    path = alice.home / "expiring.tgz"
    manifest = {"name": "@alice/expiring", "version": "1.0.0", "memorylayer": {"namespace": "x", "memories": 3}}
    later = 4_102_444_800_000  # 2100-01-01
    with path.open("wb") as out:
        write_package(
            out,
            manifest,
            [
                PackedMemory(None, "The spring offer ends in 2100", {}, None, None, None, None, later),
                PackedMemory(None, "The winter offer ended in 2001", {}, None, None, None, None, 978_307_200_000),
                PackedMemory(None, "Support answers within a day", {}, None, None, None, None),
            ],
        )
    uploaded = httpx.put(
        f"{registry.url}/registry/v1/packages/@alice/expiring/versions/1.0.0",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    out = dave.run("add", "@alice/expiring", "-n", "offers", "--json")
    assert out.code == 0, out.out
    memories = dave.run("list", "-n", "offers", "--json").json["memories"]
    assert sorted((m["value"], m["expires_at"]) for m in memories) == [
        ("Support answers within a day", None),
        ("The spring offer ends in 2100", "2100-01-01T00:00:00.000Z"),
    ]
