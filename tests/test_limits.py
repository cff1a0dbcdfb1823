"""Every edge publishes the limits of ``memorylayer.limits``, and the engine enforces them.

The server's OpenAPI schema, the MCP tools' input schemas and the SDK's checks are compared with
the limits module, and the engine is shown to accept each bound and refuse just past it, so a
bound changed on one side only fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client as McpClient

from memorylayer import limits as L
from memorylayer.client import Cache, Client
from memorylayer.client.models import CacheInfo
from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, NetworkError, NotFound
from memorylayer.mcp_server import LocalAccess, build_server
from support import free_port

Range = tuple[float | None, float]


def _range(bounds: L.Bounds) -> Range:
    return (bounds.min, bounds.max)


def _published(prop: dict[str, Any]) -> Range:
    """(minimum, maximum) of a JSON Schema property; an optional one is ``anyOf [T, null]``."""
    for option in prop.get("anyOf", [prop]):
        if option.get("type") != "null":
            prop = option
    low = prop.get("minLength", prop.get("minimum"))
    high = prop.get("maxLength", prop.get("maximum"))
    return low, high


# ---- the server ------------------------------------------------------------------------------------

_EMAIL: Range = (None, L.EMAIL.max)
_CODE: Range = (L.SIGN_IN_CODE_DIGITS, L.SIGN_IN_CODE_DIGITS)
_IMPORTANCE: Range = (L.IMPORTANCE_MIN, L.IMPORTANCE_MAX)
_KEYS = "/v1/containers/{container_id}/keys"

#: (route, body field, the range it must publish)
WIRE: list[tuple[str, str, Range]] = [
    ("/v1/memories", "scope", _range(L.SCOPE)),
    ("/v1/memories", "key", _range(L.KEY)),
    ("/v1/memories", "value", _range(L.VALUE)),
    ("/v1/memories", "importance", _IMPORTANCE),
    ("/v1/memories/get", "scope", _range(L.SCOPE)),
    ("/v1/memories/get", "key", _range(L.KEY)),
    ("/v1/memories/remove", "scope", _range(L.SCOPE)),
    ("/v1/memories/remove", "key", _range(L.KEY)),
    ("/v1/memories/list", "scope", _range(L.SCOPE)),
    ("/v1/memories/list", "search", _range(L.LIST_SEARCH)),
    ("/v1/memories/list", "limit", _range(L.WIRE_LIST_LIMIT)),
    ("/v1/recall", "scope", _range(L.SCOPE)),
    ("/v1/recall", "query", _range(L.QUERY)),
    ("/v1/recall", "maxItems", _range(L.MAX_ITEMS)),
    ("/v1/recall", "maxTokens", _range(L.MAX_TOKENS)),
    ("/v1/account/extraction-prompt", "prompt", _range(L.EXTRACTION_PROMPT)),
    ("/v1/containers", "name", _range(L.CONTAINER_NAME)),
    (_KEYS, "issuedTo", _range(L.ISSUED_TO)),
    (_KEYS, "expiresIn", _range(L.KEY_EXPIRES_IN_S)),
    ("/v1/cache", "ttlSeconds", _range(L.CACHE_TTL_S)),
    ("/v1/cache/set", "key", _range(L.CACHE_KEY)),
    ("/v1/cache/set", "value", _range(L.CACHE_VALUE)),
    ("/v1/cache/get", "key", _range(L.CACHE_KEY)),
    ("/v1/cache/delete", "key", _range(L.CACHE_KEY)),
    ("/v1/auth/request-code", "email", _EMAIL),
    ("/v1/auth/verify-code", "email", _EMAIL),
    ("/v1/auth/verify-code", "code", _CODE),
    ("/v1/auth/verify-code", "issuedTo", _range(L.ISSUED_TO)),
]


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from memorylayer.server import create_app

    app = create_app(Settings.load(home=tmp_path_factory.mktemp("limits-home")))
    yield app.openapi()
    app.state.server.engine.close()


def _body_schema(openapi: dict[str, Any], route: str) -> dict[str, Any]:
    schema: dict[str, Any] = openapi["paths"][route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _wire_property(openapi: dict[str, Any], route: str, field: str) -> dict[str, Any]:
    prop: dict[str, Any] = _body_schema(openapi, route)["properties"][field]
    return prop


@pytest.mark.parametrize(("route", "field", "expected"), WIRE, ids=[f"{r} {f}" for r, f, _ in WIRE])
def test_the_server_publishes_each_wire_limit_in_its_openapi_schema(
    openapi: dict[str, Any], route: str, field: str, expected: Range
) -> None:
    assert _published(_wire_property(openapi, route, field)) == expected


def test_the_server_publishes_the_recall_thresholds(openapi: dict[str, Any]) -> None:
    assert tuple(_wire_property(openapi, "/v1/recall", "threshold")["enum"]) == L.THRESHOLDS


# ---- the MCP tools ---------------------------------------------------------------------------------

_SCORE: Range = (L.SCORE_MIN, L.SCORE_MAX)

#: (tool, argument, the range its input schema must publish)
TOOL_ARGUMENTS: list[tuple[str, str, Range]] = [
    ("memory_store", "content", _range(L.VALUE)),
    ("memory_store", "namespace", _range(L.SCOPE)),
    ("memory_search", "query", _range(L.QUERY)),
    ("memory_search", "namespace", _range(L.SCOPE)),
    ("memory_search", "top_k", _range(L.MCP_TOP_K)),
    ("memory_search", "min_score", _SCORE),
    ("memory_get", "memory_id", _range(L.MEMORY_ID)),
    ("memory_update", "memory_id", _range(L.MEMORY_ID)),
    ("memory_update", "content", _range(L.VALUE)),
    ("memory_delete", "memory_id", _range(L.MEMORY_ID)),
    ("memory_list", "namespace", _range(L.SCOPE)),
    ("memory_list", "limit", _range(L.MCP_LIST_LIMIT)),
    ("memory_list", "offset", _range(L.MCP_LIST_OFFSET)),
    ("memory_recall", "query", _range(L.QUERY)),
    ("memory_recall", "namespace", _range(L.SCOPE)),
    ("memory_recall", "max_items", _range(L.MAX_ITEMS)),
    ("memory_recall", "max_tokens", _range(L.MAX_TOKENS)),
]


@pytest.fixture(scope="module")
def tool_schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each tool's input schema, as the real MCP client lists it."""
    engine = Engine.open(tmp_path_factory.mktemp("mcp-limits-home"))

    async def listed() -> dict[str, dict[str, Any]]:
        async with McpClient(build_server(LocalAccess(engine))) as client:
            return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}

    try:
        return anyio.run(listed)
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("tool", "argument", "expected"), TOOL_ARGUMENTS, ids=[f"{t} {a}" for t, a, _ in TOOL_ARGUMENTS]
)
def test_each_mcp_tool_publishes_the_limits_of_its_arguments(
    tool_schemas: dict[str, dict[str, Any]], tool: str, argument: str, expected: Range
) -> None:
    assert _published(tool_schemas[tool]["properties"][argument]) == expected


def test_mcp_defaults_and_thresholds_come_from_the_limits(tool_schemas: dict[str, dict[str, Any]]) -> None:
    search = tool_schemas["memory_search"]["properties"]
    listing = tool_schemas["memory_list"]["properties"]
    recall = tool_schemas["memory_recall"]["properties"]

    assert search["top_k"]["default"] == L.DEFAULT_TOP_K
    assert listing["limit"]["default"] == L.DEFAULT_MCP_LIST_LIMIT
    assert (recall["max_items"]["default"], recall["max_tokens"]["default"]) == (
        L.DEFAULT_MAX_ITEMS,
        L.DEFAULT_MAX_TOKENS,
    )
    assert recall["threshold"]["default"] == L.DEFAULT_THRESHOLD
    assert tuple(recall["threshold"]["enum"]) == L.THRESHOLDS


def test_the_narrower_mcp_ranges_sit_inside_the_engines() -> None:
    assert L.TOP_K.min <= L.MCP_TOP_K.min and L.MCP_TOP_K.max <= L.TOP_K.max
    assert L.LIST_LIMIT.min <= L.MCP_LIST_LIMIT.min and L.MCP_LIST_LIMIT.max <= L.LIST_LIMIT.max


# ---- the SDK ---------------------------------------------------------------------------------------

SdkCall = Callable[[Client, Any], object]


def _cache(client: Client) -> Cache:
    info = CacheInfo(
        id="cache-1", raw_token="tok", claim_token="claim", claim_url="http://x/claim", expires_at=datetime.now(UTC)
    )
    return Cache(client, info, None)


#: (route, body field, "text" / "integer" / "number", the SDK call that sends ``value`` as that field)
SDK_CALLS: list[tuple[str, str, str, SdkCall]] = [
    ("/v1/memories", "scope", "text", lambda c, v: c.add(v, "Alice", key="name")),
    ("/v1/memories", "key", "text", lambda c, v: c.add("user-1", "Alice", key=v)),
    ("/v1/memories", "value", "text", lambda c, v: c.add("user-1", v, key="name")),
    ("/v1/memories", "importance", "number", lambda c, v: c.add("user-1", "Alice", key="name", importance=v)),
    ("/v1/memories/get", "scope", "text", lambda c, v: c.get(v, "name")),
    ("/v1/memories/get", "key", "text", lambda c, v: c.get("user-1", v)),
    ("/v1/memories/remove", "scope", "text", lambda c, v: c.remove(v, "name")),
    ("/v1/memories/remove", "key", "text", lambda c, v: c.remove("user-1", v)),
    ("/v1/memories/list", "scope", "text", lambda c, v: c.list(scope=v)),
    ("/v1/memories/list", "search", "text", lambda c, v: c.list(search=v)),
    ("/v1/memories/list", "limit", "integer", lambda c, v: c.list(limit=v)),
    ("/v1/recall", "scope", "text", lambda c, v: c.recall(v, "what?")),
    ("/v1/recall", "query", "text", lambda c, v: c.recall("user-1", v)),
    ("/v1/recall", "maxItems", "integer", lambda c, v: c.recall("user-1", "what?", max_items=v)),
    ("/v1/recall", "maxTokens", "integer", lambda c, v: c.recall("user-1", "what?", max_tokens=v)),
    ("/v1/account/extraction-prompt", "prompt", "text", lambda c, v: c.set_extraction_prompt(v)),
    ("/v1/containers", "name", "text", lambda c, v: c.containers.create(v)),
    (_KEYS, "issuedTo", "text", lambda c, v: c.containers.create_key("container-1", v)),
    (_KEYS, "expiresIn", "integer", lambda c, v: c.containers.create_key("container-1", "agent", expires_in=v)),
    ("/v1/cache", "ttlSeconds", "integer", lambda c, v: c.cache.create(ttl_seconds=v)),
    ("/v1/cache/set", "key", "text", lambda c, v: _cache(c).set(v, "Lisbon")),
    ("/v1/cache/set", "value", "text", lambda c, v: _cache(c).set("city", v)),
    ("/v1/cache/get", "key", "text", lambda c, v: _cache(c).get(v)),
    ("/v1/cache/delete", "key", "text", lambda c, v: _cache(c).delete(v)),
    ("/v1/auth/request-code", "email", "text", lambda c, v: c.request_code(v)),
    ("/v1/auth/verify-code", "email", "text", lambda c, v: c.verify_code(v, "123456")),
    ("/v1/auth/verify-code", "code", "text", lambda c, v: c.verify_code("a@example.com", v)),
    ("/v1/auth/verify-code", "issuedTo", "text", lambda c, v: c.verify_code("a@example.com", "123456", issued_to=v)),
]


@pytest.fixture(scope="module")
def nowhere() -> Iterator[Client]:
    """A client of a port nothing listens on, without retries: a request that is sent fails to connect."""
    with Client("wm_test_limits", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0) as client:
        yield client


def _sized(kind: str, size: float) -> Any:
    """A value of ``size``: that many characters, or the number (OpenAPI writes integer bounds as floats)."""
    if kind == "text":
        return "x" * int(size)
    return int(size) if kind == "integer" else size


def _refusal(call: SdkCall, client: Client, value: Any) -> dict[str, Any]:
    with pytest.raises(InvalidRequest) as caught:
        call(client, value)
    assert caught.value.status == 0  # refused by the SDK: the server would have given 400
    (issue,) = caught.value.details
    return dict(issue)


def _is_sent(call: SdkCall, client: Client, value: Any) -> None:
    with pytest.raises(NetworkError):
        call(client, value)


@pytest.mark.parametrize(("route", "field", "kind", "call"), SDK_CALLS, ids=[f"{r} {f}" for r, f, _, _ in SDK_CALLS])
def test_the_sdk_refuses_just_past_what_the_server_publishes_and_sends_at_it(
    openapi: dict[str, Any], nowhere: Client, route: str, field: str, kind: str, call: SdkCall
) -> None:
    low, high = _published(_wire_property(openapi, route, field))
    step = 0.5 if kind == "number" else 1

    too_big = _refusal(call, nowhere, _sized(kind, high + step))
    _is_sent(call, nowhere, _sized(kind, high))

    assert (too_big["code"], too_big["path"], too_big["maximum"]) == ("too_big", [field], high)
    if low is not None and low - step >= 0:
        too_small = _refusal(call, nowhere, _sized(kind, low - step))
        _is_sent(call, nowhere, _sized(kind, low))
        assert (too_small["code"], too_small["path"], too_small["minimum"]) == ("too_small", [field], low)


def test_the_sdk_checks_every_bounded_field_the_server_publishes() -> None:
    assert {(route, field) for route, field, *_ in SDK_CALLS} == {(route, field) for route, field, _ in WIRE}


# ---- the engine ------------------------------------------------------------------------------------

EngineCall = Callable[[Engine, Any], object]

#: (the engine's field name, the bound, "text" / "integer" / "number", the call that passes ``value``)
ENGINE_CALLS: list[tuple[str, Range, str, EngineCall]] = [
    ("scope", _range(L.SCOPE), "text", lambda e, v: e.add(v, "Alice", key="name")),
    ("key", _range(L.KEY), "text", lambda e, v: e.add("user-1", "Alice", key=v)),
    ("value", _range(L.VALUE), "text", lambda e, v: e.add("user-1", v, key="name")),
    ("importance", _IMPORTANCE, "number", lambda e, v: e.add("user-1", "Alice", key="name", importance=v)),
    ("query", _range(L.QUERY), "text", lambda e, v: e.search(v)),
    ("top_k", _range(L.TOP_K), "integer", lambda e, v: e.search("Alice", top_k=v)),
    ("min_score", _SCORE, "number", lambda e, v: e.search("Alice", min_score=v)),
    ("query", _range(L.QUERY), "text", lambda e, v: e.recall("user-1", v)),
    ("max_items", _range(L.MAX_ITEMS), "integer", lambda e, v: e.recall("user-1", "Alice", max_items=v)),
    ("max_tokens", _range(L.MAX_TOKENS), "integer", lambda e, v: e.recall("user-1", "Alice", max_tokens=v)),
    ("search", _range(L.LIST_SEARCH), "text", lambda e, v: e.list(search=v)),
    ("limit", _range(L.LIST_LIMIT), "integer", lambda e, v: e.list(limit=v)),
    ("memory_id", _range(L.MEMORY_ID), "text", lambda e, v: _get_or_none(e, v)),
]


def _get_or_none(engine: Engine, memory_id: str) -> object:
    try:
        return engine.get(memory_id)
    except NotFound:  # an id of the right length that names nothing
        return None


@pytest.fixture(scope="module")
def limits_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = Engine.open(Path(tmp_path_factory.mktemp("engine-limits-home")))
    yield engine
    engine.close()


@pytest.mark.parametrize(
    ("field", "bounds", "kind", "call"), ENGINE_CALLS, ids=[f"{f} {b}" for f, b, _, _ in ENGINE_CALLS]
)
def test_the_engine_accepts_each_bound_and_refuses_just_past_it(
    limits_engine: Engine, field: str, bounds: Range, kind: str, call: EngineCall
) -> None:
    low, high = bounds
    assert low is not None
    step = 0.5 if kind == "number" else 1
    call(limits_engine, _sized(kind, low))
    call(limits_engine, _sized(kind, high))

    with pytest.raises(InvalidRequest, match=field):
        call(limits_engine, _sized(kind, high + step))
    if low - step >= 0:
        with pytest.raises(InvalidRequest, match=field):
            call(limits_engine, _sized(kind, low - step))


def test_the_engine_refuses_metadata_past_its_size_in_bytes(limits_engine: Engine) -> None:
    envelope = len('{"note": ""}')
    at_limit = {"note": "é" * ((L.METADATA_MAX_BYTES - envelope) // 2)}

    limits_engine.add("user-1", "Alice", key="name", metadata=at_limit)
    with pytest.raises(InvalidRequest, match="metadata"):
        limits_engine.add("user-1", "Alice", key="name", metadata={"note": at_limit["note"] + "é"})
