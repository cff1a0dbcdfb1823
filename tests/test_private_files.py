"""The home is 0700 and what it holds 0600, whatever the umask; an opened-up home is taken back."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.server import create_app


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield int(request.param)
    os.umask(previous)


def test_a_new_home_and_its_database_files_are_private(tmp_path: Path, umask: int) -> None:
    home = tmp_path / "new" / "home"
    with Engine.open(home) as engine:
        engine.add("s", "a private fact", extract=False)
        files = {p.name: _mode(p) for p in home.iterdir()}
    assert _mode(home) == 0o700
    assert files == {"memory.db": 0o600, "memory.db-wal": 0o600, "memory.db-shm": 0o600}


def test_the_server_secret_and_codes_file_are_private(tmp_path: Path, umask: int) -> None:
    from fastapi.testclient import TestClient

    home = tmp_path / "home"
    app = create_app(Settings.load(home=home))
    with TestClient(app) as client:
        assert client.post("/v1/auth/request-code", json={"email": "a@example.com"}).status_code == 200
    app.state.server.engine.close()
    assert _mode(home / "server.secret") == 0o600 and _mode(home / "sign-in-codes.txt") == 0o600


def test_an_opened_up_home_and_database_are_made_private_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Engine.open(home) as engine:
        engine.add("s", "a fact", extract=False)
    home.chmod(0o755)
    for path in home.iterdir():
        path.chmod(0o644)
    with Engine.open(home) as engine:
        assert engine.count() == 1
        assert _mode(home) == 0o700
        assert {p.name: _mode(p) for p in home.iterdir()} == {
            "memory.db": 0o600,
            "memory.db-wal": 0o600,
            "memory.db-shm": 0o600,
        }


def test_a_database_outside_the_home_leaves_its_existing_directory_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with Engine.open(tmp_path / "home", database=str(shared / "team.db")) as engine:
        engine.add("s", "a fact", extract=False)
    assert _mode(shared) == 0o755 and _mode(shared / "team.db") == 0o600
