"""Yank, unyank, deprecate, dist-tags and package search, through the CLI."""

from __future__ import annotations

from registry_support import User


def test_yank_unyank_deprecate_and_dist_tags(alice: User, bob: User, carol: User) -> None:
    directory = alice.package("@alice/cycle", "cycle", "Version one")
    assert alice.publish(directory).code == 0
    alice.remember("cycle", "Version one point one")
    assert alice.publish(directory, "--bump", "minor").code == 0

    yanked = alice.run("yank", "@alice/cycle", "1.1.0", "--reason", "wrong data", "--json")
    assert yanked.code == 0 and yanked.json["version"]["yanked"] is True
    assert bob.run("yank", "@alice/cycle", "1.0.0", "--json").error == "forbidden"
    info = bob.run("info", "@alice/cycle", "--json").json["package"]
    assert [(v["version"], v["yanked"]) for v in info["versions"]] == [("1.0.0", False), ("1.1.0", True)]
    assert info["distTags"]["latest"] == "1.0.0"  # the newest version that is not yanked
    text = bob.run("info", "@alice/cycle")
    assert "yanked" in text.out and "1.1.0" in text.out
    default = bob.run("add", "@alice/cycle", "--json")
    assert default.json["installed"][0]["version"] == "1.0.0"
    exact = bob.run("add", "@alice/cycle@1.1.0", "-n", "exact", "--json")
    assert exact.code == 3 and exact.error == "version_yanked" and "wrong data" in exact.json["error"]["message"]
    assert alice.run("unyank", "@alice/cycle", "1.1.0", "--json").json["version"]["yanked"] is False
    assert bob.run("add", "@alice/cycle@1.1.0", "-n", "exact", "--json").code == 0

    deprecated = alice.run("deprecate", "@alice/cycle", "1.0.0", "use 1.1.0", "--json")
    assert deprecated.json["version"]["deprecated"] == "use 1.1.0"
    warned = carol.run("add", "@alice/cycle@1.0.0")
    assert warned.code == 0 and "deprecated: use 1.1.0" in warned.err
    assert "1 added" in warned.out
    assert alice.run("deprecate", "@alice/cycle", "1.0.0", "", "--json").json["version"]["deprecated"] is None

    tagged = alice.run("dist-tag", "add", "@alice/cycle", "1.0.0", "stable", "--json")
    assert tagged.json["dist_tags"] == {"latest": "1.1.0", "stable": "1.0.0"}
    assert bob.run("add", "@alice/cycle@stable", "-n", "stable", "--json").json["installed"][0]["version"] == "1.0.0"
    assert alice.run("dist-tag", "add", "@alice/cycle", "9.9.9", "stable", "--json").error == "not_found"
    assert alice.run("dist-tag", "add", "@alice/cycle", "1.0.0", "1.x", "--json").error == "invalid_version"
    assert alice.run("dist-tag", "rm", "@alice/cycle", "latest", "--json").error == "invalid_request"
    assert alice.run("dist-tag", "rm", "@alice/cycle", "stable", "--json").json["dist_tags"] == {"latest": "1.1.0"}
    assert bob.run("dist-tag", "ls", "@alice/cycle", "--json").json["dist_tags"] == {"latest": "1.1.0"}


def test_search_packages_by_text_keyword_and_author(alice: User, bob: User, carol: User) -> None:
    cooking = alice.package(
        "@alice/recipes",
        "recipes",
        "Bake bread at 230 degrees",
        description="Bread and pastry recipes",
        keywords=["baking", "food"],
    )
    gardening = bob.package(
        "@bob/garden",
        "garden",
        "Water tomatoes in the morning",
        description="Vegetable gardening tips",
        keywords=["garden", "food"],
    )
    assert alice.publish(cooking).code == 0 and bob.publish(gardening).code == 0
    found = carol.run("search-packages", "how do I bake bread", "--json").json["packages"]
    assert found[0]["name"] == "@alice/recipes" and found[0]["version"] == "1.0.0"
    by_keyword = {p["name"] for p in carol.run("search-packages", "--keyword", "food", "--json").json["packages"]}
    assert by_keyword == {"@alice/recipes", "@bob/garden"}
    by_author = carol.run("search-packages", "--author", "bob", "--keyword", "food", "--json").json["packages"]
    assert [p["name"] for p in by_author] == ["@bob/garden"]
    text = carol.run("search-packages", "--keyword", "baking")
    assert text.code == 0 and "@alice/recipes" in text.out
