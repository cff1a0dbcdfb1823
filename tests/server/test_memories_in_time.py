"""Our time extensions of /v1: `expiresAt` / `ttlSeconds` on adds, `expiring` lists, and `asOf` reads."""

from __future__ import annotations

import time

from server_support import Server
from test_transport import assert_error

from memorylayer.types import iso_ms, now_ms

SPEC_KEYS = {"id", "scope", "key", "value", "source", "status", "statusError", "createdAt", "updatedAt"}


def test_an_expiring_memory_carries_expires_at_and_is_gone_once_it_passes(srv: Server, user: str) -> None:
    plain = srv.call("POST", "/v1/memories", user, {"scope": "e", "key": "k", "value": "for good"}).json()
    assert set(plain["memories"][0]) == SPEC_KEYS  # no extension field unless it says something
    srv.call("POST", "/v1/memories", user, {"scope": "e", "value": "warm up", "extract": False})
    at = now_ms() + 600
    r = srv.call(
        "POST",
        "/v1/memories",
        user,
        {"scope": "e", "value": "Parcel on Tuesday", "extract": False, "expiresAt": iso_ms(at)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["memories"][0]["expiresAt"] == iso_ms(at)
    ttl = srv.call("POST", "/v1/memories", user, {"scope": "e", "key": "session", "value": "x", "ttlSeconds": 3600})
    assert ttl.json()["memories"][0]["expiresAt"] > iso_ms(now_ms() + 3_590_000)
    listed = srv.call(
        "POST", "/v1/memories/list", user, {"scope": "e", "expiring": True, "orderBy": "expiresAt", "orderDir": "asc"}
    )
    assert [m["value"] for m in listed.json()["memories"]] == ["Parcel on Tuesday", "x"]
    deadline = time.monotonic() + 5
    while now_ms() <= at:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    listed = srv.call("POST", "/v1/memories/list", user, {"scope": "e", "includeTotal": True}).json()
    assert "Parcel on Tuesday" not in [m["value"] for m in listed["memories"]] and listed["total"] == 3
    recalled = srv.call("POST", "/v1/recall", user, {"scope": "e", "query": "when is the parcel coming?"}).json()
    assert "Parcel" not in recalled["context"]


def test_bad_expiries_are_refused_with_their_path(srv: Server, user: str) -> None:
    base = {"scope": "e", "value": "v", "extract": False}
    for extra, path in (
        ({"expiresAt": "2001-01-01T00:00:00Z"}, ["expires_at"]),
        ({"expiresAt": "soon"}, ["expiresAt"]),
        ({"ttlSeconds": 0}, ["ttlSeconds"]),
        ({"ttlSeconds": 60, "expiresAt": iso_ms(now_ms() + 60_000)}, ["expires_at"]),
    ):
        r = srv.call("POST", "/v1/memories", user, {**base, **extra})
        assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == path, extra
    r = srv.call("POST", "/v1/memories/batch", user, {"scope": "e", "items": [{"value": "a", "ttlSeconds": -1}]})
    assert_error(r, 400, "invalid_request")
    assert srv.call("POST", "/v1/memories/list", user, {"scope": "e"}).json()["memories"] == []


def test_as_of_reads_return_the_value_valid_then_with_its_interval(srv: Server, user: str) -> None:
    for when, plan in (
        ("2024-03-01T00:00:00Z", "free"),
        ("2024-08-15T00:00:00Z", "pro"),
        ("2025-05-05T00:00:00Z", "team"),
    ):
        r = srv.call("POST", "/v1/memories", user, {"scope": "p", "key": "plan", "value": plan, "createdAt": when})
        assert r.status_code == 200, r.text
    got = srv.call("POST", "/v1/memories/get", user, {"scope": "p", "key": "plan", "asOf": "2024-09-01T00:00:00Z"})
    memory = got.json()["memory"]
    assert memory["value"] == "pro"
    assert (memory["validFrom"], memory["validTo"]) == ("2024-08-15T00:00:00.000Z", "2025-05-05T00:00:00.000Z")
    now = srv.call("POST", "/v1/memories/get", user, {"scope": "p", "key": "plan"}).json()["memory"]
    assert now["value"] == "team" and set(now) == SPEC_KEYS
    before = srv.call("POST", "/v1/memories/get", user, {"scope": "p", "key": "plan", "asOf": "2023-01-01T00:00:00Z"})
    assert before.json()["memory"] is None
    listed = srv.call("POST", "/v1/memories/list", user, {"scope": "p", "asOf": "2024-04-01T00:00:00Z"}).json()
    assert [(m["value"], m["validTo"]) for m in listed["memories"]] == [("free", "2024-08-15T00:00:00.000Z")]
    recalled = srv.call(
        "POST", "/v1/recall", user, {"scope": "p", "query": "which plan?", "asOf": "2024-09-01T00:00:00Z"}
    ).json()
    assert recalled["context"] == "plan: pro" and recalled["memories"][0]["validTo"] == "2025-05-05T00:00:00.000Z"
    r = srv.call("POST", "/v1/recall", user, {"scope": "p", "query": "plan", "asOf": "yesterday"})
    assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == ["asOf"]


def test_the_quota_counts_only_live_memories(srv: Server) -> None:
    account_id, raw = srv.account("expiry-quota@example.com")
    srv.state.store.set_plan(account_id, plan_tier="free", memory_limit=2, monthly_api_call_limit=100)
    srv.call("POST", "/v1/memories", raw, {"scope": "q", "key": "warm", "value": "up"})
    at = now_ms() + 500
    r = srv.call("POST", "/v1/memories", raw, {"scope": "q", "key": "a", "value": "1", "expiresAt": iso_ms(at)})
    assert r.status_code == 200, r.text
    assert_error(srv.call("POST", "/v1/memories", raw, {"scope": "q", "key": "b", "value": "2"}), 403, "quota_exceeded")
    deadline = time.monotonic() + 5
    while now_ms() <= at:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # The expired memory no longer counts, before any sweep has purged it.
    assert srv.call("POST", "/v1/memories", raw, {"scope": "q", "key": "b", "value": "2"}).status_code == 200
