"""The tools over streamable HTTP at /mcp on the real server (uvicorn on a local port)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from memorylayer.server.auth import sha256

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, serve_mcp: Any) -> Iterator[Any]:
    with serve_mcp(tmp_path_factory.mktemp("mcp-http")) as running:
        yield running


@asynccontextmanager
async def connect(url: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def test_a_request_without_a_valid_key_is_401_with_the_error_envelope(served: Any) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx2.AsyncClient(timeout=30) as http:
        missing = await http.post(served.url, json=body)
        wrong = await http.post(served.url, json=body, headers={"Authorization": "Bearer wm_live_nope"})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "Invalid API key"


async def test_every_tool_answers_over_http(served: Any, call: Any, call_error: Any) -> None:
    async with connect(served.url, served.keys["alice"]) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        stored = await call(client, "memory_store", content="Alice drinks oat milk", namespace="kitchen")
        hits = await call(client, "memory_search", query="which milk?", namespace="kitchen")
        got = await call(client, "memory_get", memory_id=stored["memory_id"])
        updated = await call(client, "memory_update", memory_id=stored["memory_id"], content="Alice drinks soy milk")
        listed = await call(client, "memory_list", namespace="kitchen")
        namespaces = await call(client, "memory_list_namespaces")
        recalled = await call(
            client,
            "memory_recall",
            query="what milk does Alice drink?",
            namespace="kitchen",
            threshold="permissive",
        )
        answered = await call(client, "memory_answer", question="What milk does Alice drink?", namespace="kitchen")
        bad = await call_error(client, "memory_list", limit=0)
        gated = await call_error(client, "audit", namespace="kitchen")  # an advanced operation on Free
        merged = await call(client, "memory_consolidate", namespace="kitchen")  # consolidate is open on Free
        composed = await call_error(client, "memory_consolidate", namespace="kitchen", mode="compose")
        explored = await call(client, "memory_explore", query="which milk?", namespace="kitchen")  # counted
        woven = await call_error(client, "memory_weave", namespace="kitchen")  # advanced
        deleted = await call(client, "memory_delete", memory_id=stored["memory_id"])
        again = await call_error(client, "memory_delete", memory_id=stored["memory_id"])
    # the seven seed tools, answer, remember_document, remember_batch, verify, consolidate, code and reasoning,
    # weave, explore, ripple
    assert len(names) == 21
    assert explored["hits"][0]["memory"]["memory_id"] == stored["memory_id"] and explored["reached"] == 1
    assert woven.startswith("[plan_required] weave is an advanced")
    assert gated.startswith("[plan_required]") and composed.startswith("[plan_required] compose is an advanced")
    assert merged["mode"] == "merge" and merged["live_before"] == merged["live_after"] == 1
    assert answered["found"] and answered["citations"] == [stored["memory_id"]]
    assert answered["answer"] == "soy" and answered["context"] == "Alice drinks soy milk"
    assert hits[0]["memory_id"] == stored["memory_id"]
    assert got["content"] == "Alice drinks oat milk"
    assert updated["content"] == "Alice drinks soy milk"
    assert [m["content"] for m in listed] == ["Alice drinks soy milk"]
    assert {n["namespace"] for n in namespaces} >= {"kitchen"}
    assert "soy milk" in recalled["context"]
    assert bad.startswith("[invalid_request]")
    assert deleted["status"] == "deleted"
    assert again.startswith("[not_found]")


async def test_a_read_only_key_can_search_but_not_write(served: Any, call: Any, call_error: Any) -> None:
    async with connect(served.url, served.keys["alice"]) as writer:
        stored = await call(writer, "memory_store", content="Alice's locker is number 42", namespace="gym")
    async with connect(served.url, served.keys["alice-read"]) as reader:
        found = await call(reader, "memory_search", query="locker number", namespace="gym")
        refused = await call_error(reader, "memory_store", content="Reader was here", namespace="gym")
        not_deleted = await call_error(reader, "memory_delete", memory_id=stored["memory_id"])
        still = await call(reader, "memory_get", memory_id=stored["memory_id"])
    assert found[0]["memory_id"] == stored["memory_id"]
    assert refused.startswith("[insufficient_scope]") and "memory:write" in refused
    assert not_deleted.startswith("[insufficient_scope]")
    assert still["content"] == "Alice's locker is number 42"


async def test_another_accounts_memory_id_is_not_found_and_never_searched(
    served: Any, call: Any, call_error: Any
) -> None:
    async with connect(served.url, served.keys["alice"]) as alice:
        secret = await call(alice, "memory_store", content="Alice's bank PIN hint is her cat", namespace="secrets")
    async with connect(served.url, served.keys["bob"]) as bob:
        get = await call_error(bob, "memory_get", memory_id=secret["memory_id"])
        update = await call_error(bob, "memory_update", memory_id=secret["memory_id"], content="hacked")
        delete = await call_error(bob, "memory_delete", memory_id=secret["memory_id"])
        search = await call(bob, "memory_search", query="bank PIN hint")
        namespaces = await call(bob, "memory_list_namespaces")
        listing = await call(bob, "memory_list", namespace="secrets")
    async with connect(served.url, served.keys["alice"]) as alice:
        intact = await call(alice, "memory_get", memory_id=secret["memory_id"])
    assert get.startswith("[not_found]") and update.startswith("[not_found]") and delete.startswith("[not_found]")
    assert search == [] and listing == []
    assert "secrets" not in {n["namespace"] for n in namespaces}
    assert intact["content"] == "Alice's bank PIN hint is her cat"


async def test_the_daily_limit_refuses_calls_until_midnight_utc_then_resets(
    tmp_path: Path, serve_mcp: Any, call: Any, call_error: Any
) -> None:
    home = tmp_path / "limited"
    home.mkdir()
    (home / "server.toml").write_text("[plans.free]\nmcp_daily_calls = 3\n", encoding="utf-8")
    with serve_mcp(home) as limited:
        srv = limited.app.state.server
        today = datetime(2026, 3, 14, 22, 30, tzinfo=UTC)
        srv.clock = lambda: int(today.timestamp() * 1000)
        async with connect(limited.url, limited.keys["alice"]) as alice:
            for _ in range(3):
                await call(alice, "memory_list_namespaces")
            refused = await call_error(alice, "memory_search", query="anything")
        async with connect(limited.url, limited.keys["bob"]) as bob:
            other_key = await call(bob, "memory_list_namespaces")
        tomorrow = today + timedelta(hours=2)
        srv.clock = lambda: int(tomorrow.timestamp() * 1000)
        async with connect(limited.url, limited.keys["alice"]) as alice:
            after_reset = await call(alice, "memory_list_namespaces")
    assert refused.startswith("[rate_limited] Daily MCP call limit reached")
    assert "3 / 3" in refused and "free plan" in refused
    assert "2026-03-15T00:00:00Z" in refused and "1 h 30 min" in refused
    assert "upgrade" in refused
    assert other_key == [] and after_reset == []
    # the dashboard's usage chart counts the tool calls that were let through, per account and UTC day
    alice = srv.store.key_by_hash(sha256(limited.keys["alice"])).account_id
    assert [(d.day, d.mcp_calls) for d in srv.usage.daily_usage([alice], "2026-03-01")] == [
        ("2026-03-14", 3),
        ("2026-03-15", 1),
    ]


async def test_memory_answer_draws_from_the_keys_monthly_budget_shared_with_rest(
    tmp_path: Path, serve_mcp: Any, call: Any, call_error: Any
) -> None:
    home = tmp_path / "budget"
    home.mkdir()
    (home / "server.toml").write_text("[plans.free]\nanswer_calls = 2\n", encoding="utf-8")
    with serve_mcp(home) as limited:
        async with connect(limited.url, limited.keys["alice"]) as alice:
            await call(alice, "memory_store", content="Alice drinks oat milk", namespace="kitchen")
            first = await call(alice, "memory_answer", question="Which milk does Alice drink?", namespace="kitchen")
        # The same key over REST: one budget, whichever edge (or machine) calls.
        rest = httpx.post(
            limited.url.removesuffix("/mcp") + "/v1/recall/answer",
            json={"scope": "kitchen", "question": "Which milk?"},
            headers={"Authorization": f"Bearer {limited.keys['alice']}"},
            timeout=30,
        )
        async with connect(limited.url, limited.keys["alice"]) as alice:
            refused = await call_error(alice, "memory_answer", question="Which milk?", namespace="kitchen")
            still = await call(alice, "memory_recall", query="Which milk?", namespace="kitchen")
    assert first["answer"] == "oat" and rest.status_code == 200
    assert refused.startswith("[budget_exceeded] Monthly answer budget of this API key reached (2 / 2")
    assert "oat milk" in still["context"]


async def test_remember_document_over_http_needs_an_advanced_plan(served: Any, call_error: Any) -> None:
    async with connect(served.url, served.keys["alice"]) as client:
        refused = await call_error(client, "memory_remember_document", document="d.md", text="Some text.")
    assert refused.startswith("[plan_required] chunk is an advanced operation")


async def test_writes_over_http_are_held_to_the_accounts_memory_quota(
    tmp_path: Path, call: Any, call_error: Any
) -> None:
    from memorylayer.config import Settings
    from memorylayer.server import ServerSettings, create_app
    from memorylayer.server.admin import create_account, create_key
    from support import serve_in_thread

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    app = create_app(Settings.load(home=home), server=ServerSettings.load(home, plans={"two": {"memory_limit": 2}}))
    srv = app.state.server
    account = create_account(srv.store, srv.server, "quota@example.com", plan="two")
    key = create_key(srv.store, account.id, scopes="memory:read,memory:write")[1]
    try:
        with serve_in_thread(app, lifespan="on", log_level="warning") as base_url:
            async with connect(f"{base_url}/mcp", key) as client:
                await call(client, "memory_store", content="Oslo is home", namespace="me", key="city")
                nurse = await call(client, "memory_store", content="Works as a nurse", namespace="me")
                full = await call_error(client, "memory_store", content="Has a cat", namespace="me")
                batch = [{"content": "Likes tea"}, {"content": "Plays chess"}]
                whole = await call_error(client, "memory_remember_batch", items=batch, namespace="me")
                # A keyed fact's new value replaces the old one: no new memory, so a full quota allows it.
                await call(client, "memory_store", content="Bergen is home", namespace="me", key="city")
                await call(client, "memory_delete", memory_id=nurse["memory_id"])
                partial = await call(client, "memory_remember_batch", items=batch, namespace="me", partial=True)
    finally:
        srv.engine.close()
    assert full.startswith("[quota_exceeded]") and whole.startswith("[quota_exceeded]")
    assert [(r["status"], r.get("code")) for r in partial["results"]] == [
        ("stored", None),
        ("refused", "quota_exceeded"),
    ]
    assert srv.engine.for_account(account.id).count("me") == 2
