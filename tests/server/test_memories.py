"""Add, get, remove, list, delete and recall through the real app (spec §5, §6)."""

from __future__ import annotations

import re

from server_support import Server
from test_transport import ISO_MS, assert_error

MEMORY_KEYS = {"id", "scope", "key", "value", "source", "status", "statusError", "createdAt", "updatedAt"}


def add(srv: Server, api_key: str, /, **body: object) -> dict:
    r = srv.call("POST", "/v1/memories", api_key, body)
    assert r.status_code == 200, r.text
    return r.json()


def test_keyed_add_returns_the_wire_memory_and_upserts_in_place(srv: Server, user: str) -> None:
    first = add(srv, user, scope="u1", key="color", value="blue", importance=0.9)["memories"]
    assert len(first) == 1
    memory = first[0]
    assert set(memory) == MEMORY_KEYS
    assert memory["source"] == "explicit" and memory["status"] == "ready" and memory["statusError"] is None
    assert ISO_MS.match(memory["createdAt"]) and re.fullmatch(r"[0-9a-f-]{36}", memory["id"])
    second = add(srv, user, scope="u1", key="color", value="green")["memories"][0]
    assert second["id"] == memory["id"] and second["createdAt"] == memory["createdAt"]
    got = srv.call("POST", "/v1/memories/get", user, {"scope": "u1", "key": "color"}).json()
    assert got["memory"]["value"] == "green"
    missing = srv.call("POST", "/v1/memories/get", user, {"scope": "nobody", "key": "color"}).json()
    assert missing["memory"] is None


def test_extraction_path_stores_facts_and_keyed_facts_survive_it(srv: Server, user: str) -> None:
    add(srv, user, scope="u1", key="diet", value="User is strictly vegetarian")
    facts = add(srv, user, scope="u1", value="I am strictly vegetarian and I live in Paris.")["memories"]
    assert facts and all(m["source"] == "extracted" and m["key"] is None for m in facts)
    kept = srv.call("POST", "/v1/memories/get", user, {"scope": "u1", "key": "diet"}).json()["memory"]
    assert kept is not None and kept["value"] == "User is strictly vegetarian"
    assert add(srv, user, scope="u1", value="Hello there")["memories"] == []


def test_idempotency_key_replays_an_extraction_without_rerunning_it(srv: Server, user: str) -> None:
    headers = {"Idempotency-Key": "turn-1"}
    body = {"scope": "u1", "value": "I work as a nurse in Lisbon."}
    first = srv.call("POST", "/v1/memories", user, body, headers=headers).json()["memories"]
    again = srv.call("POST", "/v1/memories", user, body, headers=headers).json()["memories"]
    assert [m["id"] for m in again] == [m["id"] for m in first]
    listed = srv.call("POST", "/v1/memories/list", user, {"scope": "u1", "includeTotal": True}).json()
    assert listed["total"] == len(first)


def test_extraction_input_over_16384_utf8_bytes_is_rejected_with_sizes(srv: Server, user: str) -> None:
    r = srv.call("POST", "/v1/memories", user, {"scope": "u", "value": "é" * 9000})
    error = assert_error(r, 400, "invalid_request", "Value exceeds maximum size for extraction")
    assert error["details"] == {"maxBytes": 16384, "actualBytes": 18000}


def test_remove_by_key_and_delete_by_id(srv: Server, user: str) -> None:
    memory = add(srv, user, scope="u", key="k", value="v")["memories"][0]
    removed = srv.call("POST", "/v1/memories/remove", user, {"scope": "u", "key": "k"}).json()
    assert removed["result"] == {"deleted": True}
    again = srv.call("POST", "/v1/memories/remove", user, {"scope": "u", "key": "k"}).json()
    assert again["result"] == {"deleted": False}
    other = add(srv, user, scope="u", key="k2", value="v2")["memories"][0]
    assert srv.call("DELETE", f"/v1/memories/{other['id'].upper()}", user).json()["result"] == {"deleted": True}
    assert srv.call("DELETE", f"/v1/memories/{memory['id']}", user).json()["result"] == {"deleted": False}
    assert_error(
        srv.call("DELETE", "/v1/memories/not-a-uuid", user), 400, "invalid_request", "Invalid memory ID format"
    )


def test_list_pages_are_exact_in_both_directions(srv: Server, user: str) -> None:
    ids = {add(srv, user, scope="p", key=f"k{i}", value=f"value {i}")["memories"][0]["id"] for i in range(7)}
    for direction in ("asc", "desc"):
        seen, cursor = [], None
        while True:
            body = {"scope": "p", "limit": 2, "orderDir": direction, "orderBy": "createdAt"}
            if cursor:
                body["cursor"] = cursor
            page = srv.call("POST", "/v1/memories/list", user, body).json()
            assert "total" not in page
            seen += [m["id"] for m in page["memories"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert len(seen) == 7 and set(seen) == ids


def test_list_filters_and_cursor_errors(srv: Server, user: str) -> None:
    add(srv, user, scope="a", key="pct", value="100% sure")
    add(srv, user, scope="b", key="other", value="nothing")
    found = srv.call("POST", "/v1/memories/list", user, {"search": "0%", "includeTotal": True}).json()
    assert [m["key"] for m in found["memories"]] == ["pct"] and found["total"] == 1
    scoped = srv.call("POST", "/v1/memories/list", user, {"scope": "b"}).json()["memories"]
    assert [m["scope"] for m in scoped] == ["b"]
    unknown = srv.call("POST", "/v1/memories/list", user, {"scope": "zzz", "includeTotal": True}).json()
    assert unknown["memories"] == [] and unknown["nextCursor"] is None and unknown["total"] == 0
    future = srv.call("POST", "/v1/memories/list", user, {"createdAfter": "2999-01-01T00:00Z"}).json()
    assert future["memories"] == []
    r = srv.call("POST", "/v1/memories/list", user, {"createdAfter": "2024-01-01"})
    assert assert_error(r, 400, "invalid_request")["details"][0]["format"] == "datetime"
    assert_error(
        srv.call("POST", "/v1/memories/list", user, {"cursor": "%%%"}), 400, "invalid_request", "Invalid cursor"
    )
    assert srv.call("POST", "/v1/memories/list", user, {"cursor": ""}).status_code == 200


def test_recall_builds_context_and_reports_unknown_scopes(srv: Server, user: str) -> None:
    add(srv, user, scope="r", key="food", value="favourite food is ramen", importance=0.9)
    add(srv, user, scope="r", key="job", value="works as a pilot")
    r = srv.call("POST", "/v1/recall", user, {"scope": "r", "query": "what food do I like?", "maxItems": 1}).json()
    assert r["context"] == "food: favourite food is ramen"
    assert [m["key"] for m in r["memories"]] == ["food"] and r["ranking"]["strategy"]
    none = srv.call(
        "POST", "/v1/recall", user, {"scope": "ghost", "query": "x", "defaults": {"tone": "friendly", "lang": "en"}}
    ).json()
    assert none["ranking"] == {"strategy": "user_not_found"}
    assert none["context"] == "tone: friendly\nlang: en" and none["memories"] == []
    r = srv.call("POST", "/v1/recall", user, {"scope": "r", "query": "q", "maxTokens": 9})
    assert_error(r, 400, "invalid_request")
    r = srv.call("POST", "/v1/recall", user, {"scope": "r", "query": "q", "defaults": {"a": 1}})
    assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == ["defaults", "a"]


def test_quota_blocks_new_memories_but_not_updates_or_reads(srv: Server) -> None:
    account_id, raw = srv.account("quota@example.com")
    srv.state.store.set_plan(account_id, plan_tier="free", memory_limit=2, monthly_api_call_limit=100)
    add(srv, raw, scope="q", key="a", value="1")
    add(srv, raw, scope="q", key="b", value="2")
    r = srv.call("POST", "/v1/memories", raw, {"scope": "q", "key": "c", "value": "3"})
    error = assert_error(r, 403, "quota_exceeded", "Memory limit reached (2 / 2).")
    assert error["details"]["quota_scope"] == "parent_account" and error["details"]["plan_tier"] == "free"
    assert [o["action"] for o in error["details"]["recovery_options"]] == [
        "remove_memories",
        "supersede_duplicates",
        "upgrade_plan",
    ]
    assert add(srv, raw, scope="q", key="a", value="updated")["memories"][0]["value"] == "updated"
    assert srv.call("POST", "/v1/recall", raw, {"scope": "q", "query": "a"}).status_code == 200


def test_scopes_are_enforced_after_validation(srv: Server) -> None:
    _, reader = srv.account("reader@example.com", scopes="memory:read")
    r = srv.call("POST", "/v1/memories", reader, {"scope": "s", "key": "k", "value": "v"})
    error = assert_error(r, 403, "insufficient_scope", "API key lacks required scope(s): memory:write")
    assert error["details"] == {"required": ["memory:write"], "granted": ["memory:read"]}
    assert_error(srv.call("POST", "/v1/memories", reader, {"scope": 1}), 400, "invalid_request")
    for method, path, body in [
        ("POST", "/v1/memories/remove", {"scope": "s", "key": "k"}),
        ("DELETE", "/v1/memories/00000000-0000-0000-0000-000000000000", None),
        ("DELETE", "/v1/memories/not-a-uuid", None),  # scope check precedes the id check
        ("POST", "/v1/account/extraction-prompt", {"prompt": "x"}),
        ("DELETE", "/v1/account/extraction-prompt", None),
        ("POST", "/v1/account/checkout", {"tier": "pro"}),
        ("POST", "/v1/account/billing-portal", None),
        ("POST", "/v1/cache/claim", {"claimToken": "x"}),
    ]:
        assert_error(srv.call(method, path, reader, body), 403, "insufficient_scope")
    for method, path, body in [
        ("POST", "/v1/memories/get", {"scope": "s", "key": "k"}),
        ("POST", "/v1/memories/list", {}),
        ("POST", "/v1/recall", {"scope": "s", "query": "q"}),
        ("GET", "/v1/health", None),
        ("GET", "/v1/account", None),
        ("GET", "/v1/account/usage", None),
        ("GET", "/v1/account/billing", None),
        ("GET", "/v1/account/extraction-prompt", None),
    ]:
        assert srv.call(method, path, reader, body).status_code == 200
    _, writer = srv.account("writer@example.com", scopes="memory:write")
    assert_error(srv.call("POST", "/v1/memories/list", writer, {}), 403, "insufficient_scope")
    assert srv.call("POST", "/v1/memories", writer, {"scope": "s", "key": "k", "value": "v"}).status_code == 200


def test_no_key_reads_or_changes_another_accounts_memories(srv: Server) -> None:
    _, alice = srv.account("alice@example.com")
    _, bob = srv.account("bob@example.com")
    secret = add(srv, alice, scope="shared-scope", key="pin", value="alice secret 1234")["memories"][0]
    add(srv, alice, scope="shared-scope", value="I live in Madrid.")
    assert srv.call("POST", "/v1/memories/get", bob, {"scope": "shared-scope", "key": "pin"}).json()["memory"] is None
    assert srv.call("POST", "/v1/memories/list", bob, {}).json()["memories"] == []
    assert srv.call("POST", "/v1/memories/list", bob, {"search": "secret"}).json()["memories"] == []
    recall = srv.call("POST", "/v1/recall", bob, {"scope": "shared-scope", "query": "alice secret pin"}).json()
    assert recall["memories"] == [] and recall["ranking"]["strategy"] == "user_not_found"
    assert srv.call("DELETE", f"/v1/memories/{secret['id']}", bob).json()["result"] == {"deleted": False}
    assert srv.call("POST", "/v1/memories/remove", bob, {"scope": "shared-scope", "key": "pin"}).json()["result"] == {
        "deleted": False
    }
    add(srv, bob, scope="shared-scope", key="pin", value="bob value")
    still = srv.call("POST", "/v1/memories/get", alice, {"scope": "shared-scope", "key": "pin"}).json()["memory"]
    assert still["value"] == "alice secret 1234" and still["id"] == secret["id"]
    assert srv.call("GET", "/v1/account/usage", bob).json()["usage"]["memoryCount"] == 1
