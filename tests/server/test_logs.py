"""The server log: one line per request, nothing forged into it, no secret in it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from server_support import Server
from test_transport import assert_error

from memorylayer.server.middleware import log_safe, loggable_path
from support import delivered_code, run_sql

LOGGER = "memorylayer.server"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_each_request_writes_exactly_one_line(srv: Server, user: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        srv.call("GET", "/health")
        srv.call("POST", "/v1/memories/list", user)
        srv.call("GET", "/nowhere")
    lines = _lines(caplog)
    assert len(lines) == 3
    assert lines[0].startswith("GET /health 200 ")
    assert lines[1].startswith("POST /v1/memories/list 200 ")
    assert lines[2].startswith("GET /nowhere 404 ")


def test_a_newline_in_the_path_cannot_forge_a_line(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    forged = "/x%0a2026-01-01 WARNING memorylayer.server: sign-in code for ceo@example.com: 123456"
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert_error(srv.call("GET", forged), 404, "not_found")
    (line,) = _lines(caplog)
    assert "\n" not in line and "\\x0a2026-01-01 WARNING" in line
    assert all(ch.isprintable() for ch in line)


@pytest.mark.parametrize("header", ["X-Request-Id", "X-WithMemory-Client"], ids=["request-id", "client"])
def test_headers_that_are_logged_are_escaped(srv: Server, header: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        srv.call("GET", "/health", headers={header: "a\x1b[31mred\\x0a"})
    (line,) = _lines(caplog)
    assert "\x1b" not in line and "a\\x1b[31mred\\\\x0a" in line


def test_claim_tokens_in_paths_are_redacted(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    claim = srv.call("POST", "/v1/cache", json={}).json()["cache"]["claimToken"]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert srv.call("GET", f"/claim/{claim}").status_code == 200
        srv.call("GET", "/claim/wm_claim_guess")
    lines = _lines(caplog)
    assert len(lines) == 2 and all("/claim/<redacted>" in line for line in lines)
    assert claim not in caplog.text and "wm_claim_guess" not in caplog.text


def test_no_key_code_or_token_reaches_the_log(srv: Server, home: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        _, key = srv.account("secrets@example.com")
        srv.call("GET", "/v1/account", key)
        made = srv.call("POST", "/v1/cache", json={}).json()["cache"]
        srv.call("GET", "/v1/cache/list", made["rawToken"])
        srv.call("POST", "/v1/auth/request-code", json={"email": "secrets@example.com"})
        code = delivered_code(home, "secrets@example.com")
        srv.call("POST", "/v1/auth/verify-code", json={"email": "secrets@example.com", "code": code})
    assert code is not None
    for secret in (key, made["rawToken"], made["claimToken"], code):
        assert secret not in caplog.text


def test_an_unexpected_failure_is_one_escaped_line(srv: Server, user: str, caplog: pytest.LogCaptureFixture) -> None:
    run_sql(srv.state.store.db, "DROP TABLE wm_idempotency_keys")  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        r = srv.call(
            "POST", "/v1/memories", user, {"scope": "s", "value": "I live in Oslo."}, headers={"Idempotency-Key": "k"}
        )
    assert_error(r, 500, "internal_error")
    lines = _lines(caplog)
    assert len(lines) == 2  # the failure with its escaped traceback, then the request line
    assert all("\n" not in line for line in lines)
    assert "Traceback" in lines[0] and "\\x0a" in lines[0]
    assert lines[1].startswith("POST /v1/memories 500 ")
    # The exception's class names the failure: sqlite3's OperationalError, psycopg's UndefinedTable.
    assert lines[1].endswith(("error=OperationalError", "error=UndefinedTable"))


def test_log_safe_escapes_what_could_split_or_fake_a_line() -> None:
    assert log_safe("a\nb\rc\x00d\x7fe\u2028f\\g") == "a\\x0ab\\x0dc\\x00d\\x7fe\\u2028f\\\\g"
    assert log_safe("é✓ 中文") == "é✓ 中文"
    assert log_safe("x" * 300).endswith("…") and len(log_safe("x" * 300)) == 201
    assert loggable_path("/claim/wm_claim_abc/extra") == "/claim/<redacted>/extra"
    assert loggable_path("/v1/claim/x") == "/v1/claim/x"
