"""The SDK refuses an out-of-range body before sending it, with the error the server would answer.

Every bound against the published schema is in tests/test_limits.py; here: the same issues as the
server, nothing sent, both clients, and the checks work where only the SDK's dependencies are installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from sdk_helpers import RealServer, in_process
from starlette.testclient import TestClient

from memorylayer.errors import InvalidRequest

Make = Callable[..., Any]

#: (route, raw body, the same body through the SDK), by what is wrong with it
OUT_OF_RANGE = [
    pytest.param("/v1/recall", {"scope": "u", "query": "q", "maxTokens": 8000},
                 lambda c: c.recall("u", "q", max_tokens=8000), id="maxTokens too big"),
    pytest.param("/v1/recall", {"scope": "", "query": "q" * 8193},
                 lambda c: c.recall("", "q" * 8193), id="empty scope and long query"),
    pytest.param("/v1/memories", {"scope": "u", "key": "k" * 129, "value": "v"},
                 lambda c: c.add("u", "v", key="k" * 129), id="key too long"),
    pytest.param("/v1/memories", {"scope": "u", "key": "k", "value": "v", "importance": 2},
                 lambda c: c.add("u", "v", key="k", importance=2), id="importance above 1"),
    pytest.param("/v1/memories", {"scope": "u", "value": "é" * 8193},
                 lambda c: c.add("u", "é" * 8193), id="too many bytes to extract"),
    pytest.param("/v1/memories/list", {"limit": 201}, lambda c: c.list(limit=201), id="page too large"),
    pytest.param("/v1/memories/get", {"scope": "u", "key": "\ud83d"},
                 lambda c: c.get("u", "\ud83d"), id="lone surrogate"),
]  # fmt: skip


def _server_details(real_server: RealServer, route: str, body: dict[str, Any]) -> Any:
    http = TestClient(real_server.app)
    headers = {"Authorization": f"Bearer {real_server.new_key()}", "Content-Type": "application/json"}
    # surrogatepass: a lone surrogate goes out as the JSON escape a JavaScript client would send.
    response = http.post(route, content=json.dumps(body).encode("utf-8", "surrogatepass"), headers=headers)
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"]


@pytest.mark.parametrize(("route", "body", "call"), OUT_OF_RANGE)
def test_the_sdk_refuses_an_out_of_range_body_with_the_issues_the_server_would_list(
    sdk: Make, real_server: RealServer, route: str, body: dict[str, Any], call: Callable[[Any], object]
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        call(sdk())

    assert caught.value.code == "invalid_request"
    assert caught.value.status == 0
    assert caught.value.details == _server_details(real_server, route, body)


async def _fail_on_any_request(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"the SDK sent a request it should have refused: {scope.get('path')}")


def test_a_refused_body_is_never_sent(kind: str) -> None:
    client = in_process(kind, _fail_on_any_request, api_key="wm_test_checks", max_retries=0)

    with pytest.raises(InvalidRequest, match=r"maxTokens: Too big: expected number to be <=2000"):
        client.recall("user-1", "what?", max_tokens=8000)
    with pytest.raises(InvalidRequest, match=r"ttlSeconds: Too small: expected number to be >=60"):
        client.cache.create(ttl_seconds=1)


def test_the_sdk_checks_its_limits_without_the_engine_or_server_dependencies() -> None:
    script = textwrap.dedent(
        """
        import sys
        from importlib.abc import MetaPathFinder

        class Absent(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"numpy", "onnxruntime", "tokenizers", "fastapi", "starlette", "mcp"}:
                    raise ImportError(f"{name} is not installed")
                return None

        sys.meta_path.insert(0, Absent())
        from memorylayer.client import Client
        from memorylayer.errors import InvalidRequest

        try:
            Client("wm_test").recall("user-1", "what?", max_tokens=8000)
        except InvalidRequest as exc:
            print(exc.code, exc.status)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["invalid_request", "0"]
