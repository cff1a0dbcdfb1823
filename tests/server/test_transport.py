"""Transport rules: request ids, error envelopes, auth failures, metering, unknown routes."""

from __future__ import annotations

import re

from server_support import Server

from support import run_sql

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_error(response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    if message is not None:
        assert error["message"] == message
    return error


def test_request_id_is_echoed_verbatim_and_generated_when_absent(srv: Server, user: str) -> None:
    r = srv.call("GET", "/v1/health", user, headers={"X-Request-Id": "my-trace-1"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "my-trace-1"
    version = r.json()["health"]["version"]
    assert r.json() == {"health": {"status": "ok", "version": version}, "request_id": "my-trace-1"}
    generated = srv.call("GET", "/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", generated)


def test_missing_malformed_unknown_and_empty_keys_are_401(srv: Server, user: str) -> None:
    assert_error(srv.call("GET", "/v1/account"), 401, "unauthorized", "Missing Authorization header")
    malformed = "Malformed Authorization header. Expected format: Bearer <key>"
    for header in ("Basic abc", "bearer " + user, "Bearer "):
        r = srv.call("GET", "/v1/account", headers={"Authorization": header})
        assert_error(r, 401, "unauthorized", malformed)
    assert_error(srv.call("GET", "/v1/account", "wm_live_nope"), 401, "unauthorized", "Invalid API key")


def test_revoked_key_is_401_and_expired_key_is_key_expired(srv: Server) -> None:
    from memorylayer.server import admin

    account_id, raw = srv.account("k@example.com")
    key = srv.state.store.key_by_hash(__import__("hashlib").sha256(raw.encode()).hexdigest())
    admin.revoke_key(srv.state.store, key.id)
    assert_error(srv.call("GET", "/v1/account", raw), 401, "unauthorized", "Invalid API key")
    _, short = admin.create_key(srv.state.store, account_id, expires_in_s=60)
    assert srv.call("GET", "/v1/account", short).status_code == 200
    srv.clock.advance(61)
    assert_error(srv.call("GET", "/v1/account", short), 401, "key_expired", "API key has expired")


def test_malformed_json_is_a_json_400_after_auth(srv: Server, user: str) -> None:
    bad = {"content-type": "application/json"}
    r = srv.call("POST", "/v1/memories", user, content=b'{"scope": ', headers=bad)
    assert_error(r, 400, "invalid_request", "Malformed JSON in request body")
    r = srv.call("POST", "/v1/memories", "wm_live_wrong", content=b"{", headers=bad)
    assert_error(r, 401, "unauthorized")
    r = srv.call("POST", "/v1/memories", user, content=b'{"scope": NaN}', headers=bad)
    assert_error(r, 400, "invalid_request", "Malformed JSON in request body")


def test_body_without_json_content_type_is_rejected_and_empty_body_means_empty_object(srv: Server, user: str) -> None:
    r = srv.call("POST", "/v1/memories/list", user, content=b'{"limit": 0}', headers={"content-type": "text/plain"})
    assert_error(r, 400, "invalid_request", "Content-Type must be application/json")
    r = srv.call("POST", "/v1/memories/list", user)
    assert r.status_code == 200
    assert r.json()["memories"] == []


def test_unknown_routes_wrong_methods_and_trailing_slashes_are_json_404(srv: Server, user: str) -> None:
    for method, path in [
        ("GET", "/v1/memories"),
        ("POST", "/v1/set"),
        ("POST", "/v1/commit"),
        ("POST", "/v1/memories/"),
        ("GET", "/nowhere"),
    ]:
        assert_error(srv.call(method, path, user), 404, "not_found", "Route not found")
    # under /v1 (outside cache and auth) the key is checked first
    assert_error(srv.call("GET", "/v1/nope", "wm_live_bad"), 401, "unauthorized")
    assert_error(srv.call("GET", "/v1/cache/nope"), 404, "not_found")


def test_unexpected_failure_is_a_json_500_with_request_id(srv: Server, user: str) -> None:
    run_sql(srv.state.store.db, "DROP TABLE wm_idempotency_keys")  # type: ignore[attr-defined]
    r = srv.call(
        "POST",
        "/v1/memories",
        user,
        {"scope": "s", "value": "I live in Oslo."},
        headers={"Idempotency-Key": "k1", "X-Request-Id": "boom"},
    )
    error = assert_error(r, 500, "internal_error")
    assert error["request_id"] == "boom"


def test_validation_issues_follow_zod_shapes(srv: Server, user: str) -> None:
    r = srv.call("POST", "/v1/memories", user, {"scope": "", "value": None, "importance": True, "extra": 1})
    issues = assert_error(r, 400, "invalid_request")["details"]
    assert [i["code"] for i in issues] == ["too_small", "invalid_type", "invalid_type", "unrecognized_keys"]
    assert issues[0] == {
        "origin": "string",
        "code": "too_small",
        "minimum": 1,
        "inclusive": True,
        "path": ["scope"],
        "message": "Too small: expected string to have >=1 characters",
    }
    assert issues[1]["message"] == "Invalid input: expected string, received null"
    assert issues[2]["message"] == "Invalid input: expected number, received boolean"
    assert issues[3]["keys"] == ["extra"]
    r = srv.call("POST", "/v1/memories", user, {"scope": "s", "value": "v", "importance": 0.5})
    assert assert_error(r, 400, "invalid_request")["details"] == [
        {"code": "custom", "path": ["importance"], "message": "importance is only valid with key (explicit path)"}
    ]
    r = srv.call("POST", "/v1/memories/list", user, {"limit": 1.5})
    assert assert_error(r, 400, "invalid_request")["details"][0]["expected"] == "int"
    r = srv.call("POST", "/v1/memories/list", user, {"limit": True})
    assert assert_error(r, 400, "invalid_request")["details"][0]["code"] == "invalid_type"
    assert srv.call("POST", "/v1/memories/list", user, {"limit": 2.0}).status_code == 200
    r = srv.call("POST", "/v1/memories/list", user, [])
    assert assert_error(r, 400, "invalid_request")["details"][0]["message"] == (
        "Invalid input: expected object, received array"
    )


def test_string_limits_count_utf16_code_units(srv: Server, user: str) -> None:
    emoji_scope = "😀" * 128  # 128 code points, 256 UTF-16 units
    r = srv.call("POST", "/v1/memories", user, {"scope": emoji_scope, "key": "k", "value": "v"})
    assert assert_error(r, 400, "invalid_request")["details"][0]["code"] == "too_big"
    ok = srv.call("POST", "/v1/memories", user, {"scope": "😀" * 127 + "a", "key": "k", "value": "v"})
    assert ok.status_code == 200


def test_api_calls_are_metered_and_the_limit_answers_429_with_retry_after(srv: Server) -> None:
    account_id, raw = srv.account("meter@example.com")
    store = srv.state.store
    store.set_plan(account_id, plan_tier="free", memory_limit=1000, monthly_api_call_limit=3)
    for _ in range(3):
        assert srv.call("GET", "/v1/health", raw).status_code == 200
    r = srv.call("GET", "/v1/health", raw)
    error = assert_error(r, 429, "rate_limited", "Monthly API call limit reached (3 / 3)")
    assert 0 < int(r.headers["retry-after"]) <= 30 * 86400
    assert error["details"]["limit"] == 3 and ISO_MS.match(error["details"]["resets_at"])
    srv.clock.advance(30 * 86400 + 1)
    r = srv.call("GET", "/v1/account/usage", raw)
    assert r.status_code == 200
    assert r.json()["usage"]["apiCallsThisPeriod"] == 0


def test_usage_counts_calls_made_before_this_one(srv: Server, user: str) -> None:
    srv.call("GET", "/v1/health", user)
    srv.call("POST", "/v1/memories/get", user, {"scope": 1})  # failed validation still counts
    usage = srv.call("GET", "/v1/account/usage", user).json()["usage"]
    assert usage["apiCallsThisPeriod"] == 2
    assert usage["monthlyApiCallLimit"] == 10000 and ISO_MS.match(usage["apiCallsResetAt"])


def test_public_meta_routes_answer_without_auth(srv: Server) -> None:
    assert srv.call("GET", "/").json()["status"] == "ok"
    assert ISO_MS.match(srv.call("GET", "/health").json()["timestamp"])
    assert srv.call("GET", "/health/db").json()["database"] == "connected"
