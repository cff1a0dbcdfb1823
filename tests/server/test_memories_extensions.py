"""Our extensions of `POST /v1/memories`: `createdAt`, `extract: false`, and the batch route."""

from __future__ import annotations

from server_support import Server
from test_transport import assert_error


def test_created_at_says_when_a_memory_happened(srv: Server, user: str) -> None:
    body = {"scope": "t", "value": "Caroline went to a support group", "extract": False}
    r = srv.call("POST", "/v1/memories", user, {**body, "createdAt": "2023-05-08T13:56:00Z"})
    assert r.status_code == 200, r.text
    memory = r.json()["memories"][0]
    assert memory["createdAt"] == "2023-05-08T13:56:00.000Z" and memory["updatedAt"] == memory["createdAt"]
    assert memory["source"] == "explicit" and memory["key"] is None
    keyed = srv.call(
        "POST", "/v1/memories", user, {"scope": "t", "key": "k", "value": "v", "createdAt": "2020-01-02T03:04Z"}
    )
    assert keyed.json()["memories"][0]["createdAt"] == "2020-01-02T03:04:00.000Z"
    # The date is indexed: a question naming it finds the memory.
    recalled = srv.call("POST", "/v1/recall", user, {"scope": "t", "query": "what happened in May 2023?"}).json()
    assert recalled["context"].startswith("Caroline went to a support group")


def test_created_at_on_an_extraction_dates_every_fact(srv: Server, user: str) -> None:
    r = srv.call(
        "POST",
        "/v1/memories",
        user,
        {"scope": "x", "value": "I'm allergic to peanuts.", "createdAt": "2024-02-29T00:00:00Z"},
    )
    facts = r.json()["memories"]
    assert [m["value"] for m in facts] == ["User is allergic to peanuts."]
    assert facts[0]["source"] == "extracted" and facts[0]["createdAt"] == "2024-02-29T00:00:00.000Z"


def test_extract_false_stores_text_verbatim_with_an_importance(srv: Server, user: str) -> None:
    r = srv.call(
        "POST", "/v1/memories", user, {"scope": "v", "value": "Hello there", "extract": False, "importance": 0.8}
    )
    assert [m["value"] for m in r.json()["memories"]] == ["Hello there"]
    # Without extract: false, importance still needs a key (the wire's rule) and "Hello there" is no fact.
    r = srv.call("POST", "/v1/memories", user, {"scope": "v", "value": "Hello there", "importance": 0.8})
    assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == ["importance"]
    assert srv.call("POST", "/v1/memories", user, {"scope": "v", "value": "Hi again"}).json()["memories"] == []


def test_bad_created_at_and_extract_are_refused_with_their_path(srv: Server, user: str) -> None:
    for value, path in (("2023-02-30T00:00:00Z", ["createdAt"]), ("1969-12-31T23:59:59Z", ["createdAt"])):
        r = srv.call("POST", "/v1/memories", user, {"scope": "v", "key": "k", "value": "x", "createdAt": value})
        assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == path
    r = srv.call("POST", "/v1/memories", user, {"scope": "v", "value": "x", "extract": "no"})
    assert assert_error(r, 400, "invalid_request")["details"][0]["code"] == "invalid_type"


def test_a_batch_stores_a_conversation_in_one_request(srv: Server, user: str) -> None:
    turns = [
        {"value": "Joanna: Bye Nate!", "createdAt": "2023-01-21T16:00:00Z"},
        {"value": "Nate: Bye Joanna!", "createdAt": "2023-01-21T16:01:00Z"},
        {"value": "Joanna: Bye Nate!", "createdAt": "2023-01-22T16:00:00Z"},
        {"key": "name", "value": "Joanna", "importance": 0.9},
    ]
    r = srv.call("POST", "/v1/memories/batch", user, {"scope": "chat", "items": turns, "dedup": False})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [m["value"] for m in out["memories"]] == [t["value"] for t in turns] and out["skipped"] == 0
    assert [m["createdAt"] for m in out["memories"][:3]] == [
        "2023-01-21T16:00:00.000Z",
        "2023-01-21T16:01:00.000Z",
        "2023-01-22T16:00:00.000Z",
    ]
    listed = srv.call("POST", "/v1/memories/list", user, {"scope": "chat", "includeTotal": True}).json()
    assert listed["total"] == 4
    # With dedup (the default) the repeated turn is skipped.
    again = srv.call("POST", "/v1/memories/batch", user, {"scope": "chat2", "items": turns[:3]}).json()
    assert len(again["memories"]) == 2 and again["skipped"] == 1


def test_a_bad_item_refuses_the_whole_batch(srv: Server, user: str) -> None:
    items = [{"value": "fine"}, {"value": ""}, {"value": "x", "colour": "red"}]
    r = srv.call("POST", "/v1/memories/batch", user, {"scope": "b", "items": items})
    details = assert_error(r, 400, "invalid_request")["details"]
    assert [d["path"] for d in details] == [["items", 1, "value"], ["items", 2]]
    assert details[1]["code"] == "unrecognized_keys"
    assert srv.call("POST", "/v1/memories/list", user, {"scope": "b"}).json()["memories"] == []
    for items, code in (([], "too_small"), ([{"value": "x"}] * 1001, "too_big")):
        r = srv.call("POST", "/v1/memories/batch", user, {"scope": "b", "items": items})
        issue = assert_error(r, 400, "invalid_request")["details"][0]
        assert issue["code"] == code and issue["origin"] == "array" and issue["path"] == ["items"]


def test_a_batch_over_the_quota_writes_nothing(srv: Server) -> None:
    account_id, raw = srv.account("batch-quota@example.com")
    srv.state.store.set_plan(account_id, plan_tier="free", memory_limit=2, monthly_api_call_limit=100)
    items = [{"value": f"fact number {i} about a different topic {i * 7}"} for i in range(3)]
    r = srv.call("POST", "/v1/memories/batch", raw, {"scope": "q", "items": items, "dedup": False})
    assert_error(r, 403, "quota_exceeded")
    assert srv.call("POST", "/v1/memories/list", raw, {"scope": "q"}).json()["memories"] == []
    _, reader = srv.account("batch-reader@example.com", scopes="memory:read")
    r = srv.call("POST", "/v1/memories/batch", reader, {"scope": "q", "items": items})
    assert r.status_code == 403
