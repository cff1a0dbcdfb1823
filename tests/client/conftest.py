from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sdk_failing_server import FailingServer
from sdk_helpers import (
    CACHE_MAX_ENTRIES,
    ENV_NAMES,
    TEST_PLANS,
    Clock,
    RealServer,
    in_process,
    serve,
)

from memorylayer.config import Settings
from memorylayer.server.app import create_app
from memorylayer.server.settings import ServerSettings
from support import free_port


@pytest.fixture(autouse=True)
def no_sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def failing() -> FailingServer:
    return FailingServer()


@pytest.fixture
def flaky(kind: str, failing: FailingServer) -> Any:
    """A client of either kind on the failing stand-in, with near-zero backoff."""
    return in_process(kind, failing.app(), api_key="wm_test_standin", retry_backoff=0.001)


@pytest.fixture
def served(failing: FailingServer) -> Iterator[str]:
    """The failing stand-in behind a real socket; yields its base URL."""
    with serve(failing.app()) as url:
        yield url
        failing.release.set()


@pytest.fixture
def closed_port_url() -> str:
    """A URL where nothing listens (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    home = tmp_path_factory.mktemp("server-home")
    settings = Settings.load(home=home, llm_base_url="")
    server = ServerSettings.load(
        home, plans=TEST_PLANS, cache_creations_per_ip=10_000, cache_max_entries=CACHE_MAX_ENTRIES
    )
    clock = Clock()
    app = create_app(settings, server=server, clock=clock)
    yield RealServer(app, clock, home)
    app.state.server.engine.close()


@pytest.fixture
def sdk(kind: str, real_server: RealServer) -> Callable[..., Any]:
    """``sdk(plan="pro")``: a client of the parametrized kind with a key of a fresh account.

    ``sdk(api_key=...)`` uses the given key instead (``None`` for pre-auth calls).
    """
    made: list[Any] = []

    def make(plan: str = "pro", **options: Any) -> Any:
        if "api_key" not in options:
            options["api_key"] = real_server.new_key(plan)
        options.setdefault("retry_backoff", 0.001)
        client = in_process(kind, real_server.app, **options)
        made.append(client)
        return client

    return make
