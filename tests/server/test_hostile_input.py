"""Input a hostile client sends: every refusal is the envelope, nothing is written, nothing is a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from server_support import Server
from test_transport import assert_error

from memorylayer.limits import JSON_MAX_DEPTH, REQUEST_BODY_MAX_BYTES

JSON = {"content-type": "application/json"}
#: Every route that takes a body, with a key of the right kind ("user", "cache" or None).
BODY_ROUTES = [
    ("POST", "/v1/memories", "user"),
    ("POST", "/v1/memories/get", "user"),
    ("POST", "/v1/memories/remove", "user"),
    ("POST", "/v1/memories/list", "user"),
    ("POST", "/v1/recall", "user"),
    ("POST", "/v1/account/extraction-prompt", "user"),
    ("POST", "/v1/containers", "user"),
    ("POST", "/v1/cache", None),
    ("POST", "/v1/cache/preview", None),
    ("POST", "/v1/cache/set", "cache"),
    ("POST", "/v1/cache/get", "cache"),
    ("POST", "/v1/cache/claim", "user"),
    ("POST", "/v1/auth/request-code", None),
    ("POST", "/v1/auth/verify-code", None),
]


def _keys(srv: Server, pro: str) -> dict[str | None, str | None]:
    cache = srv.call("POST", "/v1/cache", json={}).json()["cache"]["rawToken"]
    return {"user": pro, "cache": cache, None: None}


def _nested(depth: int) -> bytes:
    return b'{"scope": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 1_000, 100_000])
def test_deeply_nested_json_is_a_400_on_every_route(srv: Server, pro: str, depth: int) -> None:
    keys = _keys(srv, pro)
    for method, path, who in BODY_ROUTES:
        r = srv.call(method, path, keys[who], content=_nested(depth), headers=JSON)
        error = assert_error(r, 400, "invalid_request")
        assert "nested deeper" in error["message"], (path, error)


def test_json_at_the_depth_limit_is_parsed_and_validated(srv: Server, pro: str) -> None:
    depth = JSON_MAX_DEPTH - 1  # the body object itself is one level
    r = srv.call("POST", "/v1/memories", pro, content=_nested(depth), headers=JSON)
    issues = assert_error(r, 400, "invalid_request")["details"]
    assert issues[0]["path"] == ["scope"] and issues[0]["code"] == "invalid_type"


@pytest.mark.parametrize("path", ["/v1/memories", "/v1/cache", "/v1/auth/request-code", "/mcp", "/nowhere"])
def test_a_body_over_the_limit_is_a_413_envelope_before_anything_is_parsed(srv: Server, pro: str, path: str) -> None:
    big = b'{"scope": "s", "value": "' + b"a" * REQUEST_BODY_MAX_BYTES + b'"}'
    r = srv.call("POST", path, pro, content=big, headers=JSON)
    error = assert_error(r, 413, "payload_too_large")
    assert error["details"] == {"maxBytes": REQUEST_BODY_MAX_BYTES}


def test_a_chunked_body_over_the_limit_is_a_413_too(srv: Server, pro: str) -> None:
    def chunks() -> Any:
        yield b'{"scope": "s", "value": "'
        for _ in range(REQUEST_BODY_MAX_BYTES // 65_536 + 1):
            yield b"a" * 65_536
        yield b'"}'

    r = srv.call("POST", "/v1/cache", content=chunks(), headers=JSON)
    assert_error(r, 413, "payload_too_large")
    assert srv.call("POST", "/v1/memories/list", pro).json()["memories"] == []


@pytest.mark.parametrize(
    "email", ["user@example.com\n", "user@example.com\r\n", "\nuser@example.com", "us\x00er@example.com"]
)
def test_an_email_with_a_newline_or_nul_is_refused_and_makes_no_account(srv: Server, email: str) -> None:
    r = srv.call("POST", "/v1/auth/request-code", json={"email": email})
    assert_error(r, 400, "invalid_request")
    assert srv.state.store.list_accounts() == []
    assert srv.state.store.codes_since(since=0, email=email.lower()) == []


@pytest.mark.parametrize("bad", ["k\x00", "k\n", "k\t", "k\x1b[31m", "k\x7f", "k\x85", "   "])
def test_control_characters_and_blank_names_are_refused_in_scopes_and_keys(srv: Server, pro: str, bad: str) -> None:
    for body in (
        {"scope": bad, "key": "k", "value": "v"},
        {"scope": "s", "key": bad, "value": "v"},
        {"scope": bad, "value": "I live in Oslo."},
    ):
        issues = assert_error(srv.call("POST", "/v1/memories", pro, body), 400, "invalid_request")["details"]
        assert issues[0]["code"] == "invalid_format" and issues[0]["format"] == "regex", issues
    assert_error(srv.call("POST", "/v1/memories/get", pro, {"scope": "s", "key": bad}), 400, "invalid_request")
    assert_error(srv.call("POST", "/v1/recall", pro, {"scope": bad, "query": "q"}), 400, "invalid_request")
    assert srv.call("POST", "/v1/memories/list", pro).json()["memories"] == []


def test_k_and_k_nul_are_never_two_keys(srv: Server, pro: str) -> None:
    assert srv.call("POST", "/v1/memories", pro, {"scope": "s", "key": "k", "value": "one"}).status_code == 200
    r = srv.call("POST", "/v1/memories", pro, {"scope": "s", "key": "k\x00", "value": "two"})
    assert_error(r, 400, "invalid_request")
    listed = srv.call("POST", "/v1/memories/list", pro).json()["memories"]
    assert [(m["key"], m["value"]) for m in listed] == [("k", "one")]


def test_nul_in_values_queries_and_cache_entries_is_refused(srv: Server, pro: str) -> None:
    assert_error(srv.call("POST", "/v1/memories", pro, {"scope": "s", "value": "a\x00b"}), 400, "invalid_request")
    assert_error(srv.call("POST", "/v1/recall", pro, {"scope": "s", "query": "a\x00"}), 400, "invalid_request")
    cache = srv.call("POST", "/v1/cache", json={}).json()["cache"]["rawToken"]
    for body in ({"key": "k\x00", "value": "v"}, {"key": "k", "value": "v\x00"}, {"key": "k\n", "value": "v"}):
        assert_error(srv.call("POST", "/v1/cache/set", cache, body), 400, "invalid_request")
    assert srv.call("GET", "/v1/cache/list", cache).json()["entries"] == []
    r = srv.call("POST", "/v1/containers", pro, {"name": "c", "metadata": {"deep": {"x": ["\x00"]}}})
    assert_error(r, 400, "invalid_request")
    assert srv.call("GET", "/v1/containers", pro).json()["containers"] == []


def test_whitespace_only_scope_and_query_are_refused_with_the_zod_shape(srv: Server, pro: str) -> None:
    r = srv.call("POST", "/v1/recall", pro, {"scope": "  ", "query": " \t "})
    issues = assert_error(r, 400, "invalid_request")["details"]
    assert [(i["path"], i["code"]) for i in issues] == [(["scope"], "invalid_format"), (["query"], "invalid_format")]
    assert all(i["origin"] == "string" and "pattern" in i for i in issues)


def test_an_id_with_a_trailing_newline_is_not_an_id(srv: Server, pro: str) -> None:
    made = srv.call("POST", "/v1/memories", pro, {"scope": "s", "key": "k", "value": "v"}).json()["memories"][0]
    assert_error(srv.call("DELETE", f"/v1/memories/{made['id']}%0A", pro), 400, "invalid_request")
    container = srv.call("POST", "/v1/containers", pro, {"name": "c"}).json()["container"]["id"]
    assert_error(srv.call("GET", f"/v1/containers/{container}%0A", pro), 404, "not_found")
    assert srv.call("POST", "/v1/memories/get", pro, {"scope": "s", "key": "k"}).json()["memory"]["id"] == made["id"]


def test_created_filters_before_1970_and_in_year_0000_are_answered(srv: Server, pro: str) -> None:
    srv.call("POST", "/v1/memories", pro, {"scope": "s", "key": "k", "value": "v"})
    for after, before, expected in [
        ("1969-12-31T23:59:59Z", None, 1),
        ("0000-01-01T00:00:00Z", None, 1),
        (None, "1900-02-28T00:00Z", 0),
        (None, "9999-12-31T23:59:59.999Z", 1),
    ]:
        body = {k: v for k, v in (("createdAfter", after), ("createdBefore", before)) if v}
        r = srv.call("POST", "/v1/memories/list", pro, body)
        assert r.status_code == 200, r.text
        assert len(r.json()["memories"]) == expected, body


@pytest.mark.parametrize("day", ["2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z"])
def test_impossible_dates_are_refused_by_the_published_pattern(srv: Server, pro: str, day: str) -> None:
    issues = assert_error(srv.call("POST", "/v1/memories/list", pro, {"createdAfter": day}), 400, "invalid_request")
    assert issues["details"][0]["format"] == "datetime"


def test_an_idempotency_key_over_255_characters_is_refused(srv: Server, pro: str) -> None:
    r = srv.call(
        "POST", "/v1/memories", pro, {"scope": "s", "value": "I live in Oslo."}, headers={"Idempotency-Key": "k" * 256}
    )
    assert_error(r, 400, "invalid_request")
    assert srv.call("POST", "/v1/memories/list", pro).json()["memories"] == []


def test_every_published_pattern_is_a_full_string_match(srv: Server) -> None:
    doc = srv.call("GET", "/openapi.json").json()
    patterns = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(doc)
    assert patterns
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
    assert json.dumps(doc)  # the schema itself is plain JSON
