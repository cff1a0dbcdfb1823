"""The commands' lines for people (not --json) say what happened."""

from __future__ import annotations

from registry_support import User


def test_human_output_of_the_registry_commands(alice: User, bob: User) -> None:
    me = alice.run("whoami")
    assert me.code == 0 and me.out.startswith("alice  wm_live_") and alice.url in me.out
    work = alice.home / "human"
    work.mkdir()
    alice.remember("human", "People read this")
    init = alice.run("init", "-n", "human", cwd=work)
    assert init.code == 0 and "@alice/human" in init.out and "(namespace human)" in init.out
    dry = alice.run("publish", "--dry-run", cwd=work)
    assert dry.code == 0 and dry.out.startswith("would publish @alice/human@1.0.0: 1 memories")
    done = alice.run("publish", cwd=work)
    assert done.code == 0 and done.out.startswith("published @alice/human@1.0.0") and "integrity sha512-" in done.out
    link = alice.run("share", "@alice/human", "--max-uses", "2")
    assert link.code == 0 and "memorylayer add @alice/human --key mlshare_" in link.out and "2 installs" in link.out
    listed = alice.run("share", "@alice/human", "--add", "bob")
    assert listed.code == 0 and "bob" in listed.out and "reader" in listed.out
    org = alice.run("org", "create", "humans", "Human Org")
    assert org.code == 0 and org.out.startswith("@humans (Human Org)") and "admin" in org.out
    tags = alice.run("dist-tag", "ls", "@alice/human")
    assert tags.out.strip() == "latest: 1.0.0"
    yanked = alice.run("yank", "@alice/human", "1.0.0")
    assert yanked.out.strip() == "@alice/human@1.0.0: yanked"
    failed = bob.run("add", "@alice/human@1.0.0")
    assert failed.code == 3 and failed.err.startswith("error [version_yanked]")
    assert alice.run("unyank", "@alice/human", "1.0.0").out.strip() == "@alice/human@1.0.0: unyanked"
    added = bob.run("add", "@alice/human")
    assert added.code == 0 and added.out.strip() == "@alice/human@1.0.0 -> @alice/human: 1 added, 0 skipped, 0 merged"
    again = bob.run("add", "@alice/human")
    assert again.out.strip() == "@alice/human@1.0.0 -> @alice/human: already installed, nothing to do"
    removed = bob.run("remove", "@alice/human")
    assert removed.out.strip() == "removed @alice/human from @alice/human (1 memories)"
    out = alice.run("logout")
    assert out.code == 0 and out.out.startswith("no saved key for ")
