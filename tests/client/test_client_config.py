"""Where the key, the base URL and the client id come from, and the module-level ``memory`` client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sdk_failing_server import FailingServer
from sdk_helpers import BASE_URL, in_process
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from memorylayer.client import DEFAULT_BASE_URL, Client, memory


def _authorization(failing: FailingServer) -> str:
    return failing.seen[-1].headers["authorization"]


def test_key_and_base_url_come_from_memorylayer_env(
    kind: str, failing: FailingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORYLAYER_API_KEY", "wm_live_from_env")
    monkeypatch.setenv("MEMORYLAYER_BASE_URL", BASE_URL + "/")
    client = in_process(kind, failing.app(), base_url=None)

    client.health()

    assert _authorization(failing) == "Bearer wm_live_from_env"
    assert client.base_url == BASE_URL


def test_withmemory_key_is_read_for_drop_in_use_and_memorylayer_wins(
    kind: str, failing: FailingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = in_process(kind, failing.app())
    monkeypatch.setenv("WITHMEMORY_API_KEY", "wm_live_withmemory")
    client.health()
    assert _authorization(failing) == "Bearer wm_live_withmemory"

    monkeypatch.setenv("MEMORYLAYER_API_KEY", "wm_live_memorylayer")
    client.health()
    assert _authorization(failing) == "Bearer wm_live_memorylayer"


def test_explicit_arguments_beat_the_environment(
    kind: str, failing: FailingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORYLAYER_API_KEY", "wm_live_from_env")
    monkeypatch.setenv("MEMORYLAYER_BASE_URL", "http://elsewhere.invalid")

    client = in_process(kind, failing.app(), api_key="wm_live_explicit")
    client.health()

    assert _authorization(failing) == "Bearer wm_live_explicit"
    assert client.base_url == BASE_URL


def test_default_base_url_is_the_local_server() -> None:
    assert Client(api_key="k").base_url == DEFAULT_BASE_URL


def test_base_url_with_a_path_prefix_is_kept(kind: str, failing: FailingServer) -> None:
    app = Starlette(routes=[Mount("/memory-api", app=failing.app())])
    client = in_process(kind, app, api_key="k", base_url=BASE_URL + "/memory-api/")

    assert client.health().health.status == "ok"


def test_requests_carry_client_id_json_content_type_only_with_a_body(kind: str, failing: FailingServer) -> None:
    client = in_process(kind, failing.app(), api_key="k", client_id="my-agent/1.0")

    client.health()
    client.add("s", "v", key="k")

    health, add = failing.seen
    assert health.headers["x-withmemory-client"] == "my-agent/1.0"
    assert "content-type" not in health.headers
    assert add.headers["content-type"] == "application/json"


@pytest.fixture
def default_memory() -> Iterator[Any]:
    yield memory
    memory.configure()


def test_module_level_memory_reads_the_environment_at_call_time(
    default_memory: Any, failing: FailingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_memory.configure(base_url=BASE_URL, http_client=TestClient(failing.app()))
    monkeypatch.setenv("MEMORYLAYER_API_KEY", "wm_live_late")

    assert default_memory.health().health.status == "ok"
    assert _authorization(failing) == "Bearer wm_live_late"


def test_configure_replaces_the_module_level_client(default_memory: Any, failing: FailingServer) -> None:
    default_memory.register({"tz": "UTC"})
    default_memory.configure(api_key="wm_live_configured", base_url=BASE_URL, http_client=TestClient(failing.app()))

    default_memory.health()

    assert _authorization(failing) == "Bearer wm_live_configured"
    assert default_memory.registered_defaults == {}


def _first_calls_together(base_url: str, threads: int) -> list[object]:
    """The connection pool each of ``threads`` threads got on its first call to a fresh client."""
    client = Client("wm_live_threads", base_url=base_url)
    start = threading.Barrier(threads)
    pools: list[object] = []

    def first_call() -> None:
        start.wait()
        pools.append(client._http_client())
        client.health()

    running = [threading.Thread(target=first_call) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    client.close()
    return pools


def test_threads_making_their_first_call_together_share_one_connection_pool(served: str) -> None:
    for _ in range(5):
        pools = _first_calls_together(served, 12)
        assert len(pools) == 12 and len({id(pool) for pool in pools}) == 1
