"""Retries, backoff, Retry-After and idempotent extraction replay, against the failing stand-in server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from sdk_failing_server import FailingServer
from sdk_helpers import DroppedConnections, in_process

from memorylayer.client import AsyncClient, Client
from memorylayer.errors import (
    ContainerNameExists,
    InternalError,
    InvalidRequest,
    NetworkError,
    NotFound,
    RateLimited,
    Timeout,
    Unauthorized,
)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_status_is_retried_until_the_server_recovers(flaky: Any, failing: FailingServer, status: int) -> None:
    failing.fail(2, status)

    response = flaky.health()

    assert response.health.status == "ok"
    assert len(failing.attempts("/v1/health")) == 3


def test_retries_give_up_after_max_retries_with_the_last_error(kind: str, failing: FailingServer) -> None:
    client = in_process(kind, failing.app(), api_key="k", max_retries=2, retry_backoff=0.001)
    failing.fail(5, 503)

    with pytest.raises(InternalError) as caught:
        client.health()

    assert len(failing.attempts("/v1/health")) == 3
    assert caught.value.status == 503
    assert caught.value.request_id and caught.value.request_id.startswith("req-")


def test_per_call_max_retries_overrides_the_client_setting(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 503)

    with pytest.raises(InternalError):
        flaky.health(max_retries=0)

    assert len(failing.attempts("/v1/health")) == 1


def test_conflict_is_final_and_not_retried(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 409, code="container_name_exists")

    with pytest.raises(ContainerNameExists):
        flaky.containers.create("workspace")

    assert len(failing.attempts("/v1/containers")) == 1
    assert flaky.containers.create("workspace").container.name == "workspace"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "invalid_request", InvalidRequest),
        (401, "unauthorized", Unauthorized),
        (404, "not_found", NotFound),
    ],
)
def test_client_errors_are_not_retried(
    flaky: Any, failing: FailingServer, status: int, code: str, error: type[Exception]
) -> None:
    failing.fail(1, status, code=code)

    with pytest.raises(error):
        flaky.health()

    assert len(failing.attempts("/v1/health")) == 1


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (503, "internal_error")])
def test_retry_after_is_waited_for_before_the_next_attempt(
    flaky: Any, failing: FailingServer, status: int, code: str
) -> None:
    failing.fail(1, status, code=code, retry_after="1")

    started = time.monotonic()
    response = flaky.health()
    elapsed = time.monotonic() - started

    assert response.health.status == "ok"
    assert len(failing.attempts("/v1/health")) == 2
    assert elapsed >= 1.0


def test_retry_after_longer_than_a_minute_raises_at_once(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 429, code="rate_limited", retry_after="3600")

    with pytest.raises(RateLimited) as caught:
        flaky.health()

    assert caught.value.retry_after == 3600
    assert len(failing.attempts("/v1/health")) == 1


def test_retried_extraction_add_replays_and_never_extracts_twice(flaky: Any, failing: FailingServer) -> None:
    failing.fail(2, 503)

    response = flaky.add("user-alice", "I moved to Lisbon last year")

    attempts = failing.attempts("/v1/memories")
    assert len(attempts) == 3
    keys = {seen.headers.get("idempotency-key") for seen in attempts}
    assert len(keys) == 1 and None not in keys
    assert failing.extractions == 1
    assert [memory.value for memory in response.memories] == ["User said: I moved to Lisbon last year"]
    assert response.memories[0].id == failing.exchanges[keys.pop()][0]["id"]


def test_each_extraction_add_gets_its_own_idempotency_key(flaky: Any, failing: FailingServer) -> None:
    flaky.add("user-alice", "I like tea")
    flaky.add("user-alice", "I like tea")

    keys = [seen.headers["idempotency-key"] for seen in failing.attempts("/v1/memories")]
    assert len(set(keys)) == 2
    assert failing.extractions == 2


def test_caller_supplied_idempotency_key_deduplicates_across_calls(flaky: Any, failing: FailingServer) -> None:
    first = flaky.add("user-alice", "I like tea", idempotency_key="conversation-42-turn-7")
    second = flaky.add("user-alice", "I like tea", idempotency_key="conversation-42-turn-7")

    assert failing.extractions == 1
    assert first.memories == second.memories


def test_keyed_add_carries_no_idempotency_key(flaky: Any, failing: FailingServer) -> None:
    flaky.add("user-alice", "Alice", key="name", importance=0.9)

    (seen,) = failing.attempts("/v1/memories")
    assert "idempotency-key" not in seen.headers
    assert seen.body == {"scope": "user-alice", "key": "name", "value": "Alice", "importance": 0.9}


def test_dropped_connections_are_retried(kind: str, failing: FailingServer) -> None:
    drops = DroppedConnections(2)
    client = in_process(kind, failing.app(), drops=drops, api_key="k", retry_backoff=0.001)

    assert client.health().health.status == "ok"
    assert drops.left == 0
    assert len(failing.attempts("/v1/health")) == 1


def _over_socket(kind: str, base_url: str, call: Callable[[Any], Any], **options: Any) -> Any:
    """Run ``call(client)`` with a client that talks over a real socket and is closed afterwards."""
    options = {"api_key": "k", "base_url": base_url, "retry_backoff": 0.001, **options}
    if kind == "sync":
        with Client(**options) as client:
            return call(client)

    async def run() -> Any:
        async with AsyncClient(**options) as client:
            return await call(client)

    return anyio.run(run)


def test_unreachable_server_raises_network_error(kind: str, closed_port_url: str) -> None:
    with pytest.raises(NetworkError) as caught:
        _over_socket(kind, closed_port_url, lambda client: client.health(), max_retries=1)

    assert type(caught.value) is NetworkError
    assert caught.value.status == 0
    assert caught.value.code == "network_error"


def test_slow_attempt_times_out_and_the_retry_succeeds(kind: str, failing: FailingServer, served: str) -> None:
    failing.slow_first = 1

    response = _over_socket(kind, served, lambda client: client.health(), timeout=0.3)

    assert response.health.status == "ok"
    assert len(failing.attempts("/v1/health")) == 2


def test_timeout_raises_timeout_when_retries_are_exhausted(kind: str, failing: FailingServer, served: str) -> None:
    failing.slow_first = 10

    started = time.monotonic()
    with pytest.raises(Timeout) as caught:
        _over_socket(kind, served, lambda client: client.health(timeout=0.2, max_retries=0))

    assert time.monotonic() - started < 5
    assert caught.value.code == "timeout" and caught.value.status == 0


def test_non_json_success_body_raises_network_error_without_retrying(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 200, text="<html>captive portal</html>")

    with pytest.raises(NetworkError) as caught:
        flaky.health()

    assert caught.value.status == 200
    assert len(failing.attempts("/v1/health")) == 1


def test_non_json_gateway_error_is_retried_then_reported_as_network_error(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 502, text="Bad Gateway")
    assert flaky.health().health.status == "ok"

    failing.fail(3, 502, text="Bad Gateway")
    with pytest.raises(NetworkError) as caught:
        flaky.health(max_retries=2)
    assert caught.value.status == 502
    assert "Bad Gateway" in caught.value.message
