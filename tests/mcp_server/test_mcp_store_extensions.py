"""memory_store's key, importance and created_at, and memory_recall's token budget and profile, over MCP."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from memorylayer.mcp_server import LocalAccess, build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_a_keyed_store_upserts_and_the_profile_answers_a_greeting(server: Any, call: Any, engine: Any) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        props = tools["memory_store"].input_schema["properties"]
        assert {"key", "importance", "created_at"} <= set(props)
        assert props["importance"]["anyOf"][0]["maximum"] == 1
        first = await call(client, "memory_store", content="Europe/Lisbon", key="timezone", namespace="u")
        again = await call(
            client, "memory_store", content="Europe/Berlin", key="timezone", namespace="u", importance=0.9
        )
        assert again == {"memory_id": first["memory_id"], "status": "stored"}
        await call(client, "memory_store", content="User prefers tabs over spaces", namespace="u")
        hello = await call(client, "memory_recall", query="hi", namespace="u")
    assert hello["context"].split("\n") == ["timezone: Europe/Berlin", "User prefers tabs over spaces"]
    assert hello["ranking"]["strategy"] == "semantic" and hello["ranking"]["ordering"] == "profile"
    assert [h.value for h in engine.history(first["memory_id"])] == ["Europe/Lisbon"]


async def test_created_at_dates_the_memory_and_a_bad_one_is_refused(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        stored = await call(
            client, "memory_store", content="Caroline went to a support group", created_at="2023-05-08 13:56"
        )
        memory = await call(client, "memory_get", memory_id=stored["memory_id"])
        # Without an offset the time is UTC, never the machine's local time.
        assert memory["created_at"] == "2023-05-08T13:56:00.000Z"
        message = await call_error(client, "memory_store", content="x", created_at="next tuesday")
    assert message.startswith("[invalid_request]") and "created_at" in message
