"""One real server per module, with users alice, bob, carol and dave (pro accounts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from registry_support import Registry, User

from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.server import ServerSettings, admin, create_app
from support import Clock, serve_in_thread

NAMES = ("alice", "bob", "carol", "dave", "erin")


def _database(config: pytest.Config) -> str:
    """A database of its own for the server and for each user's home (machines apart); SQLite: in the home."""
    if config.getoption("--backend") != "postgres":
        return ""
    from postgres_server import shared

    return shared().new_database()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Registry]:
    home = tmp_path_factory.mktemp("server")
    settings = Settings.load(home=home, database=_database(pytestconfig))
    engine = Engine.open(settings=settings)
    clock = Clock()
    app = create_app(settings, server=ServerSettings.load(home), engine=engine, clock=clock)
    state = app.state.server
    keys = {}
    for name in NAMES:
        account = admin.create_account(state.store, state.server, f"{name}@example.com", plan="pro")
        keys[name] = admin.create_key(state.store, account.id)[1]
    with serve_in_thread(app) as url:
        users = {
            n: User(n, f"{n}@example.com", keys[n], tmp_path_factory.mktemp(f"home-{n}"), url, _database(pytestconfig))
            for n in NAMES
        }
        yield Registry(url, state, home, clock, users)
    engine.close()


@pytest.fixture
def alice(registry: Registry) -> User:
    return registry["alice"]


@pytest.fixture
def bob(registry: Registry) -> User:
    return registry["bob"]


@pytest.fixture
def carol(registry: Registry) -> User:
    return registry["carol"]


@pytest.fixture
def dave(registry: Registry) -> User:
    return registry["dave"]
