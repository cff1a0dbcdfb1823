"""Dependencies (first, once, cycles refused), integrity checked while downloading, and bad names."""

from __future__ import annotations

import json
from pathlib import Path

from registry_support import Registry, User


def test_dependencies_install_first_and_cycles_are_refused(alice: User, bob: User) -> None:
    base = alice.package("@alice/base", "base", "Every service logs to stdout")
    assert alice.publish(base).code == 0
    top = alice.package(
        "@alice/app", "app", "The app service runs on port 8080", dependencies={"@alice/base": "^1.0.0"}
    )
    assert alice.publish(top).code == 0
    out = bob.run("add", "@alice/app", "-n", "stack", "--json")
    assert out.code == 0, out.out
    assert [(r["name"], r["dependency"]) for r in out.json["installed"]] == [
        ("@alice/base", True),
        ("@alice/app", False),
    ]
    assert bob.values("stack") == ["Every service logs to stdout", "The app service runs on port 8080"]

    one = alice.package("@alice/loop-a", "loop-a", "A needs B", dependencies={"@alice/loop-b": "^1.0.0"})
    two = alice.package("@alice/loop-b", "loop-b", "B needs A", dependencies={"@alice/loop-a": "^1.0.0"})
    assert alice.publish(one).code == 0 and alice.publish(two).code == 0
    cycle = bob.run("add", "@alice/loop-a", "-n", "loops", "--json")
    assert cycle.code == 1 and cycle.error == "dependency_cycle"
    assert "@alice/loop-a -> @alice/loop-b -> @alice/loop-a" in cycle.json["error"]["message"]
    assert bob.run("list", "-n", "loops", "--json").json["memories"] == []


def test_a_tampered_tarball_aborts_with_the_namespace_unchanged(registry: Registry, alice: User, carol: User) -> None:
    directory = alice.package("@alice/tamper", "tamper", "The build cache lives in /var/cache/ci")
    published = alice.publish(directory)
    assert published.code == 0
    carol.remember("target", "Already here")
    info = carol.run("info", "@alice/tamper", "--json").json["package"]
    digest = __import__("base64").b64decode(info["versions"][0]["integrity"][len("sha512-") :]).hex()
    _flip_a_stored_byte(registry, digest)
    out = carol.run("add", "@alice/tamper", "-n", "target", "--json")
    assert out.code == 6 and out.error == "integrity_error"
    assert carol.values("target") == ["Already here"]
    assert list((carol.home / "registry" / "downloads").iterdir()) == []  # the download was thrown away


def _flip_a_stored_byte(registry: Registry, digest: str) -> None:
    """Corrupt the stored tarball under the server: its file (SQLite home) or its chunk (PostgreSQL)."""
    backend = registry.state.engine.backend
    if backend.url.startswith("sqlite"):
        (path,) = [p for p in (registry.home / "registry" / "tarballs").rglob(digest) if p.is_file()]
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        backend.database.execute(
            "UPDATE reg_tarball_chunks SET bytes = set_byte(bytes, length(bytes) / 2,"
            " get_byte(bytes, length(bytes) / 2) # 255) WHERE digest = %s AND seq = 0",
            (digest,),
        )


def _manifest(directory: Path, **changes: object) -> None:
    path = directory / "memory.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}), encoding="utf-8")


def test_bad_names_and_versions_are_refused_with_stable_codes(alice: User, bob: User) -> None:
    directory = alice.package("@alice/names", "names", "Names matter")
    for name in ("@Alice/names", "alice/names", "@alice/", "@alice/has space", "@alice/" + "x" * 220):
        _manifest(directory, name=name)
        out = alice.publish(directory)
        assert out.code == 2 and out.error == "invalid_package_name", (name, out.out)
    _manifest(directory, name="@alice/names")
    for version in ("1.0", "v1.0.0", "latest", "1.0.0.0"):
        _manifest(directory, version=version)
        out = alice.publish(directory)
        assert out.code == 2 and out.error == "invalid_version", (version, out.out)
    _manifest(directory, version="1.0.0", dependencies={"@alice/base": "not a range!"})
    assert alice.publish(directory).error == "invalid_version"
    _manifest(directory, dependencies={})
    bob.remember("names", "Bob's own names")
    stolen = bob.run("publish", "--json", cwd=directory)  # bob may not publish under @alice
    assert stolen.code == 4 and stolen.error == "forbidden"
    for spec in ("notscoped", "@alice/names@", "@ALICE/names"):
        out = bob.run("add", spec, "--json")
        assert out.code == 2 and out.error in ("invalid_package_name", "invalid_version"), (spec, out.out)
    missing = bob.run("add", "@alice/never-published", "--json")
    assert missing.code == 3 and missing.error == "not_found"
