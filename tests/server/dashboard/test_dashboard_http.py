"""The dashboard over HTTP (the real app through Starlette's TestClient, real SMTP through the stand-in):
sessions, cookies, CSRF on every form, redirects, content negotiation, tenancy and usage counting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import Server, build

from memorylayer.server import ServerSettings, accounts, admin
from standins.smtp import Inbox, smtp_inbox

HTML = {"accept": "text/html"}
EMAIL = "ada@example.com"


@dataclass
class Dash:
    srv: Server
    inbox: Inbox

    def client(self, **kw: Any) -> TestClient:
        return TestClient(self.srv.client.app, raise_server_exceptions=False, follow_redirects=False, **kw)

    def sign_in(self, client: TestClient, email: str = EMAIL) -> str:
        """Sign ``client`` in through the forms; returns the session's CSRF token."""
        token = csrf_of(client.get("/signin", headers=HTML))
        sent = client.post("/signin", data={"csrf_token": token, "email": email}, headers=HTML)
        assert sent.status_code == 303, sent.text
        code = self.inbox.code_for(email)
        done = client.post("/signin/code", data={"csrf_token": token, "email": email, "code": code}, headers=HTML)
        assert done.status_code == 303 and done.headers["location"] == "/memories", done.text
        return csrf_of(client.get("/memories", headers=HTML))

    def engine(self, email: str = EMAIL) -> Any:
        account = self.srv.state.store.account_by_email(email)
        assert account is not None
        return self.srv.state.engine_for(account.id)


def csrf_of(response: Any) -> str:
    assert response.status_code == 200, response.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, "the page has no form"
    return match.group(1)


@pytest.fixture
def dash(home: Path) -> Iterator[Dash]:
    with smtp_inbox() as (inbox, port):
        server = build(home, ServerSettings.load(home, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"))
        with server.client:
            yield Dash(server, inbox)
        server.state.engine.close()


def session_cookie(response: Any) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "memorylayer_session=" in v]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def test_the_session_cookie_is_httponly_lax_and_secure_only_behind_https(dash: Dash, home: Path) -> None:
    plain = dash.client()
    token = csrf_of(plain.get("/signin", headers=HTML))
    plain.post("/signin", data={"csrf_token": token, "email": EMAIL}, headers=HTML)
    form = {"csrf_token": token, "email": EMAIL, "code": dash.inbox.code_for(EMAIL)}
    cookie = session_cookie(plain.post("/signin/code", data=form, headers=HTML))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert f"Max-Age={7 * 86_400}" in cookie

    secure = dash.client(base_url="https://testserver")
    token = csrf_of(secure.get("/signin", headers=HTML))
    secure.post("/signin", data={"csrf_token": token, "email": "bob@example.com"}, headers=HTML)
    form = {"csrf_token": token, "email": "bob@example.com", "code": dash.inbox.code_for("bob@example.com")}
    assert "Secure" in session_cookie(secure.post("/signin/code", data=form, headers=HTML))

    published = build(home, dash.srv.state.server.with_(public_url="https://memory.example.com"))
    behind_proxy = TestClient(published.client.app, follow_redirects=False)
    assert "Secure" in behind_proxy.get("/signin", headers=HTML).headers["set-cookie"]
    published.state.engine.close()


def test_pages_carry_a_strict_content_security_policy_and_no_store(dash: Dash) -> None:
    response = dash.client().get("/signin", headers=HTML)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store" and response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in response.text and " on" + "click=" not in response.text


def _forms(dash: Dash, client: TestClient) -> dict[str, Any]:
    """One of everything a form can change, and each form's path."""
    engine = dash.engine()
    engine.add("notes", "keep me", key="k")
    memory = engine.get_key("notes", "k")
    admin.set_plan(dash.srv.state.store, dash.srv.state.server, EMAIL, "pro")
    account = dash.srv.state.store.account_by_email(EMAIL)
    assert account is not None
    container = accounts.create_container(dash.srv.state, account, "box", None)
    key, _ = admin.create_key(dash.srv.state.store, container.id, scopes="memory:read")
    own, _ = admin.create_key(dash.srv.state.store, account.id)
    made = dash.srv.call("POST", "/v1/cache", json={}).json()["cache"]
    return {
        "paths": [
            "/signout",
            "/memories/delete-scope",
            f"/memories/{memory.id}",
            f"/memories/{memory.id}/delete",
            "/keys",
            f"/keys/{own.id}/revoke",
            "/containers",
            f"/containers/{container.id}/keys",
            f"/containers/{container.id}/keys/{key.id}/revoke",
            f"/containers/{container.id}/delete",
            f"/claim/{made['claimToken']}",
        ],
        "fields": {
            "scope": "notes",
            "confirm": "notes",
            "value": "changed",
            "metadata": "{}",
            "importance": "0.5",
            "name": "box",
            "scope:memory:read": "on",
        },
    }


def test_every_form_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(dash: Dash) -> None:
    client = dash.client()
    token = dash.sign_in(client)
    forms = _forms(dash, client)
    keys_before = len(dash.srv.state.store.list_keys(dash.engine().account))
    for path in forms["paths"]:
        for forged in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
            response = client.post(path, data={**forms["fields"], **forged}, headers=HTML)
            assert response.status_code == 403, (path, response.status_code)
            assert "did not come from this site" in response.text
    assert dash.engine().get_key("notes", "k").value == "keep me"
    assert len(dash.srv.state.store.list_keys(dash.engine().account)) == keys_before
    assert client.get("/memories", headers=HTML).status_code == 200  # still signed in


def test_signed_out_forms_need_the_double_submit_cookie(dash: Dash) -> None:
    client = dash.client()
    token = csrf_of(client.get("/signin", headers=HTML))
    client.cookies.clear()
    refused = client.post("/signin", data={"csrf_token": token, "email": EMAIL}, headers=HTML)
    assert refused.status_code == 403 and dash.inbox.messages == []
    other = dash.client()
    other.get("/signin", headers=HTML)
    assert other.post("/signin", data={"csrf_token": token, "email": EMAIL}, headers=HTML).status_code == 403


def test_a_session_ends_at_its_expiry_and_its_key_expires_with_it(dash: Dash) -> None:
    client = dash.client()
    dash.sign_in(client)
    store = dash.srv.state.store
    (key,) = store.list_keys(dash.engine().account)
    assert key.name == "Dashboard sign-in" and key.expires_at is not None
    dash.srv.clock.advance(7 * 86_400 + 1)
    response = client.get("/memories", headers=HTML)
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=%2Fmemories"
    assert dash.srv.state.sessions.account_sessions(dash.engine().account) == []
    assert key.expires_at <= dash.srv.state.now()


def test_revoking_the_key_behind_a_session_signs_that_browser_out(dash: Dash) -> None:
    laptop, phone = dash.client(), dash.client()
    dash.sign_in(laptop)
    token = dash.sign_in(phone)
    sessions = dash.srv.state.sessions.account_sessions(dash.engine().account)
    laptop_key = sessions[-1].key_id
    assert phone.post(f"/keys/{laptop_key}/revoke", data={"csrf_token": token}, headers=HTML).status_code == 303
    assert laptop.get("/keys", headers=HTML).status_code == 303
    assert phone.get("/keys", headers=HTML).status_code == 200


def test_dashboard_sign_in_shares_the_code_limits_of_the_api(dash: Dash) -> None:
    for _ in range(3):
        assert dash.srv.call("POST", "/v1/auth/request-code", json={"email": EMAIL}).status_code == 200
    client = dash.client()
    token = csrf_of(client.get("/signin", headers=HTML))
    refused = client.post("/signin", data={"csrf_token": token, "email": EMAIL}, headers=HTML)
    assert refused.status_code == 429 and "Too many code requests" in refused.text
    bad = client.post("/signin", data={"csrf_token": token, "email": "not-an-email"}, headers=HTML)
    assert bad.status_code == 400 and "Invalid email address" in bad.text


def test_a_wrong_code_is_counted_towards_the_lock_like_the_api(dash: Dash) -> None:
    client = dash.client()
    token = csrf_of(client.get("/signin", headers=HTML))
    client.post("/signin", data={"csrf_token": token, "email": EMAIL}, headers=HTML)
    code = dash.inbox.code_for(EMAIL)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        form = {"csrf_token": token, "email": EMAIL, "code": wrong}
        assert client.post("/signin/code", data=form, headers=HTML).status_code == 401
    locked = client.post("/signin/code", data={"csrf_token": token, "email": EMAIL, "code": code}, headers=HTML)
    assert locked.status_code == 429 and "Too many attempts" in locked.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "memories"])
def test_sign_in_only_returns_to_pages_of_this_site(dash: Dash, target: str) -> None:
    client = dash.client()
    token = csrf_of(client.get("/signin", headers=HTML))
    client.post("/signin", data={"csrf_token": token, "email": EMAIL, "next": target}, headers=HTML)
    form = {"csrf_token": token, "email": EMAIL, "code": dash.inbox.code_for(EMAIL), "next": target}
    assert client.post("/signin/code", data=form, headers=HTML).headers["location"] == "/memories"


def test_api_clients_keep_json_from_the_banner_the_claim_url_and_unknown_routes(dash: Dash) -> None:
    client = dash.client()
    assert client.get("/").json()["name"] == "memorylayer"
    assert client.get("/", headers=HTML).headers["location"] == "/memories"
    made = dash.srv.call("POST", "/v1/cache", json={}).json()["cache"]
    assert client.get(f"/claim/{made['claimToken']}").json()["claim"]["method"] == "POST"
    assert "Claim a memory cache" in client.get(f"/claim/{made['claimToken']}", headers=HTML).text
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    page = client.get("/nowhere", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert client.get("/v1/nowhere", headers=HTML).json()["error"]["code"] == "unauthorized"
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/memories", "/signin", "/keys", "/usage", "/playground")) for p in paths)


def test_another_accounts_memories_and_containers_are_not_found(dash: Dash) -> None:
    dash.sign_in(dash.client(), "bob@example.com")
    bob = dash.srv.state.store.account_by_email("bob@example.com")
    assert bob is not None
    bob = admin.set_plan(dash.srv.state.store, dash.srv.state.server, bob.id, "pro")
    box = accounts.create_container(dash.srv.state, bob, "bobs-box", None)
    memory = dash.engine("bob@example.com").add("private", "bob's secret", key="s").memories[0]
    ada = dash.client()
    dash.sign_in(ada)
    for path in (f"/memories/{memory.id}", f"/containers/{box.id}", f"/memories?container={box.id}"):
        response = ada.get(path, headers=HTML)
        assert response.status_code == 404 and "secret" not in response.text, path
    assert "private" not in ada.get("/memories", headers=HTML).text


def test_api_calls_are_counted_per_account_and_day_for_the_usage_chart(dash: Dash) -> None:
    account, key = dash.srv.account("counted@example.com")
    dash.srv.state.store.set_plan(account, plan_tier="free", memory_limit=10, monthly_api_call_limit=3)
    for _ in range(3):
        assert dash.srv.call("GET", "/v1/account", key).status_code == 200
    (today,) = dash.srv.state.usage.daily_usage([account], "2000-01-01")
    assert today.day == dash.srv.state.today() and (today.api_calls, today.mcp_calls) == (3, 0)
    refused = dash.srv.call("GET", "/v1/account", key)
    assert refused.status_code == 429 and dash.srv.state.usage.daily_usage([account], "2000-01-01") == [today]


def test_the_playground_leaves_access_history_and_the_usage_page_draws_the_chart(dash: Dash) -> None:
    client = dash.client()
    dash.sign_in(client)
    dash.engine().add("prefs", "vegetarian", key="diet")
    page = client.get("/playground?scope=prefs&query=diet", headers=HTML)
    assert page.status_code == 200 and "diet: vegetarian" in page.text
    assert dash.engine().get_key("prefs", "diet").recall_count == 0
    usage = client.get("/usage", headers=HTML)
    assert usage.status_code == 200 and usage.text.count('class="bar-api"') == 30
