"""memory_remember_batch and memory_verify over MCP: per-item outcomes, verdicts, bad input refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from test_mcp_http import connect

from memorylayer.mcp_server import LocalAccess, build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_remember_batch_reports_each_item(server: Any, call: Any, call_error: Any, engine: Any) -> None:
    items = [
        {"content": "Caroline moved to Boston in 2021."},
        {"content": "Europe/Lisbon", "key": "timezone", "importance": 0.9},
        {"content": "Caroline moved to Boston in 2021."},
        {"content": "Caroline went to a support group", "created_at": "2023-05-08 13:56"},
    ]
    async with Client(server) as client:
        out = await call(client, "memory_remember_batch", items=items, namespace="life")
        statuses = [(r["index"], r["status"]) for r in out["results"]]
        assert statuses == [(0, "stored"), (1, "stored"), (2, "duplicate"), (3, "stored")]
        assert out["results"][2]["memory_id"] == out["results"][0]["memory_id"]
        again = await call(
            client, "memory_remember_batch", items=[{"content": "Europe/Berlin", "key": "timezone"}], namespace="life"
        )
        assert again["results"] == [
            {"index": 0, "status": "updated", "memory_id": out["results"][1]["memory_id"], "supersedes": []}
        ]
        bad = [{"content": "kept?"}, {"content": "x", "created_at": "next tuesday"}]
        message = await call_error(client, "memory_remember_batch", items=bad, namespace="life")
        assert message.startswith("[invalid_request]") and "items[1].created_at" in message
        empty = await call_error(client, "memory_remember_batch", items=[], namespace="life")
        assert "items" in empty
    assert engine.count("life") == 3
    assert engine.get(out["results"][3]["memory_id"]).created_at == 1683554160000


async def test_a_partial_batch_refuses_bad_items_in_place(server: Any, call: Any, call_error: Any, engine: Any) -> None:
    items = [
        {"content": "Caroline moved to Boston in 2021."},
        {"content": "   "},
        {"content": "x", "created_at": "next tuesday"},
        {"content": "Europe/Lisbon", "key": "timezone"},
    ]
    async with Client(server) as client:
        message = await call_error(client, "memory_remember_batch", items=items, namespace="p")
        assert message.startswith("[invalid_request]") and engine.count("p") == 0
        out = await call(client, "memory_remember_batch", items=items, namespace="p", partial=True)
        assert [(r["index"], r["status"], r.get("code")) for r in out["results"]] == [
            (0, "stored", None),
            (1, "refused", "invalid_request"),
            (2, "refused", "invalid_request"),
            (3, "stored", None),
        ]
        assert out["results"][1]["message"].startswith("items[1].value: ") and out["results"][1]["memory_id"] is None
        assert out["results"][2]["message"].startswith("items[2].created_at: bad timestamp")
        only_bad = await call(client, "memory_remember_batch", items=[{"content": " "}], namespace="q", partial=True)
        assert [r["status"] for r in only_bad["results"]] == ["refused"]
        empty = await call_error(client, "memory_remember_batch", items=[], namespace="q", partial=True)
        assert "items" in empty
    assert engine.count("p") == 2 and engine.get_key("p", "timezone").value == "Europe/Lisbon"
    assert engine.count("q") == 0


async def test_verify_gives_the_verdict_and_the_memories_it_rests_on(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="Melanie has two dogs named Rex and Bo.", namespace="v")
        out = await call(client, "memory_verify", statement="Melanie has three dogs.", namespace="v")
        assert out["verdict"] == "contradicted" and out["method"] == "rules"
        assert out["evidence"][0]["memory"]["memory_id"] == stored["memory_id"]
        assert out["evidence"][0]["check"] == "number"
        unknown = await call(client, "memory_verify", statement="Bob drives a red car.", namespace="v")
        assert unknown["verdict"] == "not_enough_information" and unknown["evidence"] == []
        blank = await call_error(client, "memory_verify", statement="   ", namespace="v")
        assert blank.startswith("[invalid_request]") and "statement" in blank


async def test_over_http_verify_needs_an_advanced_plan_and_a_batch_needs_write(
    tmp_path: Path, serve_mcp: Any, call: Any, call_error: Any
) -> None:
    with serve_mcp(tmp_path) as running:
        async with connect(running.url, running.keys["alice"]) as alice:
            gated = await call_error(alice, "memory_verify", statement="Alice drinks oat milk")
            stored = await call(alice, "memory_remember_batch", items=[{"content": "Alice drinks oat milk"}])
        async with connect(running.url, running.keys["alice-read"]) as reader:
            refused = await call_error(reader, "memory_remember_batch", items=[{"content": "Alice drinks tea"}])
    assert gated.startswith("[plan_required] verify is an advanced operation")
    assert [r["status"] for r in stored["results"]] == ["stored"]
    assert refused.startswith("[insufficient_scope]")
