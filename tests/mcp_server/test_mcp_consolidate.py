"""memory_consolidate through the SDK's in-memory client against the real server object and engine."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from memorylayer.mcp_server import LocalAccess, build_server
from memorylayer.types import NewMemory

pytestmark = pytest.mark.anyio
WORK = ["User works at Acme Corp as an engineer.", "User's manager is Dana.", "User's team ships the billing service."]


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_consolidate_plans_merges_and_composes(server: Any, engine: Any, call: Any, call_error: Any) -> None:
    twins = ["User lives in Toronto.", "The user lives in Toronto, Canada."]
    short, long = [m.id for m in engine.add_batch("s", [NewMemory(v) for v in twins], dedup=False).memories]
    parts = [m.id for m in engine.add_batch("s", [NewMemory(v) for v in WORK], dedup=False).memories]
    for _ in range(3):
        engine.recall("s", "where does the user work, who is the manager and what does the team ship?")
    async with Client(server) as client:
        plan = await call(client, "memory_consolidate", namespace="s", dry_run=True)
        merged = await call(client, "memory_consolidate", namespace="s")
        composed = await call(client, "memory_consolidate", namespace="s", mode="compose")
        bad = await call_error(client, "memory_consolidate", namespace="s", mode="fold")
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert plan["dry_run"] is True and plan["merges"] == [{**plan["merges"][0], "kept": long, "members": [short]}]
    assert merged["merged"] == 1 and merged["live_before"] == 5 and merged["live_after"] == 4
    assert engine.get(short).superseded_by == long
    assert sorted(composed["composites"][0]["parts"]) == sorted(parts) and composed["composites"][0]["id"]
    assert bad.startswith("[invalid_request] memory_consolidate: mode")
    assert tools["memory_consolidate"].annotations.read_only_hint is False
