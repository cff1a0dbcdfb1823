"""memory_weave, memory_explore and memory_ripple through the SDK's in-memory client against the real
server object and engine."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from memorylayer.mcp_server import LocalAccess, build_server
from memorylayer.types import NewMemory

pytestmark = pytest.mark.anyio
FACTS = ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky.", "User drinks green tea."]


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_weave_explore_and_ripple(server: Any, engine: Any, call: Any, call_error: Any) -> None:
    sunrise, daughter, _ = [m.id for m in engine.add_batch("s", [NewMemory(v) for v in FACTS], dedup=False).memories]
    summary = engine.add_batch("s", [NewMemory("In short.", metadata={"derived_from": [sunrise]})]).memories[0].id
    async with Client(server) as client:
        woven = await call(client, "memory_weave", namespace="s")
        explored = await call(client, "memory_explore", query="What did Melanie paint?", namespace="s", seeds=1)
        preview = await call(client, "memory_ripple", memory_id=sunrise)
        applied = await call(client, "memory_ripple", memory_id=sunrise, apply=True)
        bad = await call_error(client, "memory_explore", query="q", namespace="s", max_hops=9)
        missing = await call_error(client, "memory_ripple", memory_id="0b1c6f53-3c2e-4d0e-9d59-1d2a1f4e0c11")
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert woven["links"] == {"entity": 1} and woven["memories"] == 4
    ids = [h["memory"]["memory_id"] for h in explored["hits"]]
    assert ids[:2] == [sunrise, daughter] and explored["hits"][1]["path"][0]["from"] == sunrise
    assert preview["memory_id"] == sunrise and [d["memory"]["memory_id"] for d in preview["dependants"]] == [summary]
    assert [d["memory"]["memory_id"] for d in preview["related"]] == [daughter] and not preview["applied"]
    assert applied["dependants"][0]["flagged"] and engine.get(summary).metadata["needs_review"] == sunrise
    assert bad.startswith("[invalid_request] memory_explore: max_hops")
    assert missing.startswith("[not_found]")
    assert tools["memory_explore"].annotations.read_only_hint is True
