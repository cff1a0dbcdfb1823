"""Sign-in by emailed code over real SMTP (aiosmtpd), and the account routes (spec §7, §11)."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import Server, build
from test_transport import assert_error

from memorylayer.server import ServerSettings
from standins.smtp import Inbox, smtp_inbox
from support import delivered_code


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_inbox() as found:
        yield found


@pytest.fixture
def mailed(home: Path, inbox: tuple[Inbox, int]) -> Iterator[tuple[Server, Inbox]]:
    handler, port = inbox
    server = build(home, ServerSettings.load(home, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"))
    with server.client:
        yield server, handler
    server.state.engine.close()


def test_code_sign_in_over_smtp_creates_an_account_with_a_full_key(mailed: tuple[Server, Inbox]) -> None:
    srv, inbox = mailed
    r = srv.call("POST", "/v1/auth/request-code", json={"email": "New.User@Example.com"})
    assert r.status_code == 200 and r.json()["result"] == {"sent": True}
    code = inbox.code_for("new.user@example.com")
    r = srv.call(
        "POST", "/v1/auth/verify-code", json={"email": "new.user@example.com", "code": code, "issuedTo": "claude-agent"}
    )
    result = r.json()["result"]
    assert result["isNewAccount"] is True and result["apiKey"].startswith("wm_live_")
    who = srv.call("GET", "/v1/account", result["apiKey"]).json()
    assert who["account"]["id"] == result["accountId"] and who["account"]["planTier"] == "free"
    assert who["key"]["name"] == "claude-agent"
    assert who["key"]["scopes"] == "memory:read,memory:write,account:admin"
    # a used code cannot be reused; a new code signs in to the same account, old keys keep working
    again = srv.call("POST", "/v1/auth/verify-code", json={"email": "new.user@example.com", "code": code})
    assert_error(again, 401, "invalid_code", "Invalid or expired verification code")
    srv.call("POST", "/v1/auth/request-code", json={"email": "new.user@example.com"})
    second = srv.call(
        "POST",
        "/v1/auth/verify-code",
        json={"email": "new.user@example.com", "code": inbox.code_for("new.user@example.com")},
    )
    assert second.json()["result"]["isNewAccount"] is False
    assert second.json()["result"]["accountId"] == result["accountId"]
    assert srv.call("GET", "/v1/account", result["apiKey"]).status_code == 200


def test_wrong_codes_lock_after_five_attempts_and_codes_expire(mailed: tuple[Server, Inbox]) -> None:
    srv, inbox = mailed
    srv.call("POST", "/v1/auth/request-code", json={"email": "lock@example.com"})
    code = inbox.code_for("lock@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = srv.call("POST", "/v1/auth/verify-code", json={"email": "lock@example.com", "code": wrong})
        assert_error(r, 401, "invalid_code")
    r = srv.call("POST", "/v1/auth/verify-code", json={"email": "lock@example.com", "code": code})
    error = assert_error(r, 429, "rate_limited", "Too many attempts. Try again later.")
    assert "locked_until" in error["details"] and 1700 < int(r.headers["retry-after"]) <= 1800
    srv.clock.advance(3601)
    srv.call("POST", "/v1/auth/request-code", json={"email": "lock@example.com"})
    fresh = inbox.code_for("lock@example.com")
    srv.clock.advance(601)
    r = srv.call("POST", "/v1/auth/verify-code", json={"email": "lock@example.com", "code": fresh})
    assert_error(r, 401, "invalid_code")


def test_code_requests_are_limited_per_email_and_per_ip(mailed: tuple[Server, Inbox]) -> None:
    srv, _ = mailed
    for _ in range(3):
        assert srv.call("POST", "/v1/auth/request-code", json={"email": "many@example.com"}).status_code == 200
    r = srv.call("POST", "/v1/auth/request-code", json={"email": "MANY@example.com"})
    assert_error(r, 429, "rate_limited", "Too many code requests. Try again in an hour.")
    assert int(r.headers["retry-after"]) > 0
    for i in range(17):
        srv.call("POST", "/v1/auth/request-code", json={"email": f"u{i}@example.com"})
    r = srv.call("POST", "/v1/auth/request-code", json={"email": "last@example.com"})
    assert_error(r, 429, "rate_limited", "Too many code requests from this network. Try again later.")


def test_sign_in_input_is_validated(srv: Server) -> None:
    for bad in ("no-at-sign", ".lead@example.com", "a..b@example.com", "a@b.c", "ü@example.com"):
        r = srv.call("POST", "/v1/auth/request-code", json={"email": bad})
        assert assert_error(r, 400, "invalid_request")["details"][0]["format"] == "email"
    r = srv.call("POST", "/v1/auth/verify-code", json={"email": "a@example.com", "code": "12345"})
    assert_error(r, 400, "invalid_request")
    r = srv.call("POST", "/v1/auth/verify-code", json={"email": "a@example.com", "code": "123456"})
    assert_error(r, 401, "invalid_code")


def test_without_smtp_the_code_goes_to_a_private_file_and_never_to_the_log(
    srv: Server, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="memorylayer.server"):
        assert srv.call("POST", "/v1/auth/request-code", json={"email": "local@example.com"}).status_code == 200
    code = delivered_code(home, "local@example.com")
    assert code is not None and code not in caplog.text
    assert "sign-in-codes.txt" in caplog.text  # the log says where the code went
    assert stat.S_IMODE((home / "sign-in-codes.txt").stat().st_mode) == 0o600
    r = srv.call("POST", "/v1/auth/verify-code", json={"email": "local@example.com", "code": code})
    assert r.json()["result"]["isNewAccount"] is True


def test_usage_billing_and_payment_routes(srv: Server, pro: str) -> None:
    usage = srv.call("GET", "/v1/account/usage", pro).json()["usage"]
    assert usage["containerLimit"] == 10 and usage["memoryLimit"] == 100000 and usage["containerCount"] == 0
    billing = srv.call("GET", "/v1/account/billing", pro).json()["billing"]
    assert billing["planTier"] == "pro" and billing["actions"]["portal"] is None
    assert set(billing["usage"]) == set(usage)
    assert_error(srv.call("POST", "/v1/account/checkout", pro, {"tier": "pro"}), 501, "not_configured")
    assert_error(srv.call("POST", "/v1/account/checkout", pro, {"tier": "gold"}), 400, "invalid_request")
    assert_error(srv.call("POST", "/v1/account/billing-portal", pro), 501, "not_configured")
    _, ent = srv.account("ent@example.com", plan="enterprise")
    assert srv.call("GET", "/v1/account/usage", ent).json()["usage"]["containerLimit"] is None


def test_extraction_prompt_is_plan_gated_trimmed_and_resettable(srv: Server, user: str, pro: str) -> None:
    assert_error(srv.call("POST", "/v1/account/extraction-prompt", user, {"prompt": "x"}), 403, "plan_required")
    assert_error(srv.call("POST", "/v1/account/extraction-prompt", pro, {"prompt": "   "}), 400, "invalid_request")
    r = srv.call("POST", "/v1/account/extraction-prompt", pro, {"prompt": "  Only food facts.  "})
    assert r.json()["extractionPrompt"] == {"prompt": "Only food facts.", "source": "custom"}
    got = srv.call("GET", "/v1/account/extraction-prompt", pro).json()["extractionPrompt"]
    assert got == {"prompt": "Only food facts.", "source": "custom"}
    assert srv.call("DELETE", "/v1/account/extraction-prompt", pro).json()["result"] == {"reset": True}
    got = srv.call("GET", "/v1/account/extraction-prompt", pro).json()["extractionPrompt"]
    assert got == {"prompt": None, "source": "default"}


def test_plans_come_from_server_toml(home: Path) -> None:
    (home / "server.toml").write_text(
        'default_plan = "starter"\n[plans.starter]\nmemory_limit = 5\nmonthly_api_calls = 50\ncontainers = 1\n'
        "custom_prompt = true\n",
        encoding="utf-8",
    )
    server = build(home)
    with server.client:
        _, key = server.account("s@example.com")
        who = server.call("GET", "/v1/account", key).json()["account"]
        assert who["planTier"] == "starter" and who["memoryLimit"] == 5 and who["monthlyApiCallLimit"] == 50
        assert server.call("POST", "/v1/containers", key, {"name": "one"}).status_code == 201
        assert_error(server.call("POST", "/v1/containers", key, {"name": "two"}), 403, "container_limit_exceeded")
    server.state.engine.close()
