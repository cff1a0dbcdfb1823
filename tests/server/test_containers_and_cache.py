"""Containers, container keys, caches and the cache -> claim -> read-only key flow (spec §9, §10)."""

from __future__ import annotations

from server_support import Server
from test_transport import assert_error

ZERO = "00000000-0000-0000-0000-000000000000"


def make_container(srv: Server, key: str, name: str = "c1") -> dict:
    r = srv.call("POST", "/v1/containers", key, {"name": name, "metadata": {"team": "x"}})
    assert r.status_code == 201, r.text
    return r.json()["container"]


def test_container_routes_need_a_paid_plan_except_revoke_and_delete(srv: Server, user: str) -> None:
    error = assert_error(srv.call("POST", "/v1/containers", user, {"name": "c"}), 403, "plan_required")
    assert error["details"]["current_tier"] == "free" and "pro" in error["details"]["required_tiers"]
    assert error["message"] == "This feature requires one of: pro, team, enterprise. Current plan: free."
    assert_error(srv.call("GET", "/v1/containers", user), 403, "plan_required")
    assert_error(srv.call("GET", f"/v1/containers/{ZERO}", user), 403, "plan_required")
    assert_error(srv.call("DELETE", f"/v1/containers/{ZERO}", user, {"confirm": True}), 404, "not_found")
    assert_error(srv.call("DELETE", f"/v1/containers/{ZERO}/keys/{ZERO}", user), 404, "not_found", "Key not found")


def test_container_lifecycle_with_keys_and_isolation(srv: Server, pro: str) -> None:
    container = make_container(srv, pro)
    assert (
        container["planTier"] == "pro" and container["memoryLimit"] == 100000 and container["metadata"] == {"team": "x"}
    )
    dup = assert_error(srv.call("POST", "/v1/containers", pro, {"name": "c1"}), 409, "container_name_exists")
    assert dup["details"]["existing_container_id"] == container["id"]
    r = srv.call("POST", f"/v1/containers/{container['id']}/keys", pro, {"issuedTo": "agent-7", "expiresIn": 3600})
    assert r.status_code == 201
    minted = r.json()
    assert minted["key"]["scopes"] == "memory:read,memory:write" and minted["key"]["accountId"] == container["id"]
    assert minted["key"]["keyPrefix"] == minted["rawKey"][:11] and minted["rawKey"].startswith("wm_live_")
    assert len(minted["rawKey"]) == 51
    ckey = minted["rawKey"]
    written = srv.call("POST", "/v1/memories", ckey, {"scope": "s", "key": "k", "value": "in container"})
    assert written.status_code == 200
    assert srv.call("POST", "/v1/memories/get", pro, {"scope": "s", "key": "k"}).json()["memory"] is None
    who = srv.call("GET", "/v1/account", ckey).json()["account"]
    assert who["id"] == container["id"] and who["email"].endswith("@sub.memorylayer.internal")
    assert_error(
        srv.call("GET", "/v1/containers", ckey), 401, "unauthorized", "Containers cannot manage other containers"
    )
    listed = srv.call("GET", "/v1/containers", pro).json()
    assert listed["total"] == 1 and listed["containers"][0]["memoryCount"] == 1
    got = srv.call("GET", f"/v1/containers/{container['id']}", pro).json()["container"]
    assert got["activeKeyCount"] == 1 and got["memoryCount"] == 1
    # another pro account can neither see nor touch it
    _, other = srv.account("other-pro@example.com", plan="pro")
    assert_error(srv.call("GET", f"/v1/containers/{container['id']}", other), 404, "not_found", "Container not found")
    assert_error(srv.call("POST", f"/v1/containers/{container['id']}/keys", other, {"issuedTo": "x"}), 404, "not_found")
    assert_error(srv.call("DELETE", f"/v1/containers/{container['id']}", other, {"confirm": True}), 404, "not_found")
    assert_error(
        srv.call("DELETE", f"/v1/containers/{container['id']}/keys/{minted['key']['id']}", other), 404, "not_found"
    )
    # malformed ids are 404, never 500
    assert_error(srv.call("GET", "/v1/containers/not-a-uuid", pro), 404, "not_found")
    revoked = srv.call("DELETE", f"/v1/containers/{container['id']}/keys/{minted['key']['id']}", pro).json()
    assert revoked["result"]["revoked"] is True
    assert_error(srv.call("GET", "/v1/account", ckey), 401, "unauthorized", "Invalid API key")
    assert_error(
        srv.call("DELETE", f"/v1/containers/{container['id']}", pro, {"confirm": False}), 400, "invalid_request"
    )
    assert srv.call("DELETE", f"/v1/containers/{container['id']}", pro, {"confirm": True}).json()["result"] == {
        "deleted": True
    }
    assert srv.call("GET", "/v1/containers", pro).json()["total"] == 0


def test_container_keys_cannot_be_admin_and_the_container_limit_holds(srv: Server, pro: str) -> None:
    container = make_container(srv, pro)
    r = srv.call(
        "POST", f"/v1/containers/{container['id']}/keys", pro, {"issuedTo": "x", "scopes": "memory:read,account:admin"}
    )
    assert_error(r, 400, "invalid_request", "Container keys cannot have account:admin scope")
    for i in range(2, 11):
        make_container(srv, pro, f"c{i}")
    error = assert_error(srv.call("POST", "/v1/containers", pro, {"name": "c11"}), 403, "container_limit_exceeded")
    assert error["message"] == "Container limit reached (10 / 10)." and error["details"]["limit"] == 10


def test_quota_counts_parent_and_containers_together(srv: Server) -> None:
    account_id, raw = srv.account("q@example.com", plan="pro")
    container = make_container(srv, raw)
    srv.state.store.set_plan(account_id, plan_tier="pro", memory_limit=1, monthly_api_call_limit=1000)
    ckey = srv.call("POST", f"/v1/containers/{container['id']}/keys", raw, {"issuedTo": "a"}).json()["rawKey"]
    assert srv.call("POST", "/v1/memories", ckey, {"scope": "s", "key": "a", "value": "1"}).status_code == 200
    r = srv.call("POST", "/v1/memories", raw, {"scope": "s", "key": "b", "value": "2"})
    assert assert_error(r, 403, "quota_exceeded")["details"]["quota_scope"] == "parent_account"
    r = srv.call("POST", "/v1/memories", ckey, {"scope": "s", "key": "c", "value": "3"})
    assert assert_error(r, 403, "quota_exceeded")["details"]["quota_scope"] == "container"


def create_cache(srv: Server, **body: object) -> dict:
    r = srv.call("POST", "/v1/cache", json=body)
    assert r.status_code == 201, r.text
    return r.json()["cache"]


def test_cache_to_claim_to_read_only_container_key(srv: Server, user: str) -> None:
    cache = create_cache(srv)
    token = cache["rawToken"]
    assert token.startswith("wm_tmp_") and cache["claimToken"].startswith("wm_claim_")
    assert cache["claimUrl"] == f"http://testserver/claim/{cache['claimToken']}"
    for key, value in [("name", "Ada"), ("city", "Lyon"), ("name", "Ada Lovelace")]:
        r = srv.call("POST", "/v1/cache/set", token, {"key": key, "value": value})
        assert r.status_code == 200 and r.json()["entry"]["value"] == value
    assert srv.call("POST", "/v1/cache/get", token, {"key": "name"}).json()["entry"]["value"] == "Ada Lovelace"
    assert srv.call("POST", "/v1/cache/get", token, {"key": "zzz"}).json()["entry"] is None
    srv.call("POST", "/v1/cache/set", token, {"key": "tmp", "value": "x"})
    assert srv.call("POST", "/v1/cache/delete", token, {"key": "tmp"}).json()["result"] == {"deleted": True}
    entries = srv.call("GET", "/v1/cache/list", token).json()["entries"]
    assert [e["key"] for e in entries] == ["city", "name"] and "value" not in entries[0]
    preview = srv.call("POST", "/v1/cache/preview", json={"claimToken": cache["claimToken"]}).json()["cache"]
    assert preview["entryCount"] == 2 and preview["entries"] == [{"key": "city"}, {"key": "name"}]
    page = srv.call("GET", f"/claim/{cache['claimToken']}").json()
    assert page["claim"]["body"] == {"claimToken": cache["claimToken"]}
    # an API key is not a cache token and vice versa
    assert_error(srv.call("GET", "/v1/cache/list", user), 401, "unauthorized", "Invalid cache token")
    assert_error(srv.call("GET", "/v1/account", token), 401, "unauthorized", "Invalid API key")

    claimed = srv.call("POST", "/v1/cache/claim", user, {"claimToken": cache["claimToken"]}).json()["result"]
    assert claimed["claimed"] is True and claimed["memoriesCreated"] == 2
    assert claimed["scope"] == f"cache-{cache['id']}"
    read_key = claimed["containerKey"]
    got = srv.call("POST", "/v1/memories/get", read_key, {"scope": claimed["scope"], "key": "name"}).json()["memory"]
    assert got["value"] == "Ada Lovelace" and got["source"] == "explicit"
    assert srv.call("GET", "/v1/account", read_key).json()["key"]["scopes"] == "memory:read"
    r = srv.call("POST", "/v1/memories", read_key, {"scope": claimed["scope"], "key": "x", "value": "y"})
    assert_error(r, 403, "insufficient_scope")
    # the parent's own memories do not include the container's
    assert srv.call("POST", "/v1/memories/list", user, {}).json()["memories"] == []
    assert_error(srv.call("GET", "/v1/cache/list", token), 401, "unauthorized", "Cache has been claimed")
    again = srv.call("POST", "/v1/cache/claim", user, {"claimToken": cache["claimToken"]})
    message = assert_error(again, 409, "already_claimed")["message"]
    assert "cannot be re-issued" in message and "POST /v1/containers/" in message
    assert_error(
        srv.call("POST", "/v1/cache/preview", json={"claimToken": cache["claimToken"]}), 409, "already_claimed"
    )
    assert_error(
        srv.call("POST", "/v1/cache/claim", user, {"claimToken": "wm_claim_nope"}), 404, "not_found", "Cache not found"
    )


def test_cache_limits_expiry_and_token_errors(srv: Server, user: str) -> None:
    cache = create_cache(srv, ttlSeconds=60)
    token = cache["rawToken"]
    for i in range(50):
        assert srv.call("POST", "/v1/cache/set", token, {"key": f"k{i:02d}", "value": "v"}).status_code == 200
    r = srv.call("POST", "/v1/cache/set", token, {"key": "k50", "value": "v"})
    assert_error(r, 403, "cache_entry_limit", "Cache entry limit reached (50 max)")
    assert srv.call("POST", "/v1/cache/set", token, {"key": "k00", "value": "updated"}).status_code == 200
    assert_error(srv.call("POST", "/v1/cache/set", token, {"key": "k", "value": "x" * 10241}), 400, "invalid_request")
    assert_error(srv.call("GET", "/v1/cache/list"), 401, "unauthorized", "Missing or malformed Authorization header")
    assert_error(srv.call("GET", "/v1/cache/list", "wm_tmp_nope"), 401, "unauthorized", "Invalid cache token")
    srv.clock.advance(61)
    assert_error(srv.call("GET", "/v1/cache/list", token), 401, "unauthorized", "Cache expired")
    assert_error(
        srv.call("POST", "/v1/cache/preview", json={"claimToken": cache["claimToken"]}),
        410,
        "cache_expired",
        "Cache has expired",
    )
    assert_error(srv.call("POST", "/v1/cache/claim", user, {"claimToken": cache["claimToken"]}), 410, "cache_expired")
    assert_error(srv.call("POST", "/v1/cache", json={"ttlSeconds": 59}), 400, "invalid_request")


def test_cache_creation_is_limited_per_client_ip_with_retry_after(srv: Server) -> None:
    create_cache(srv)
    create_cache(srv)
    r = srv.call("POST", "/v1/cache", json={}, headers={"X-Forwarded-For": "9.9.9.9"})
    assert r.status_code == 201  # untrusted header: still the socket peer, third of three
    r = srv.call("POST", "/v1/cache", json={})
    assert_error(r, 429, "rate_limited", "Cache creation rate limit exceeded (3 per 24 hours)")
    assert 86000 < int(r.headers["retry-after"]) <= 86400
    srv.state.server = srv.state.server.with_(trusted_ip_header="x-forwarded-for")
    assert srv.call("POST", "/v1/cache", json={}, headers={"X-Forwarded-For": "1.2.3.4, 10.0.0.1"}).status_code == 201
    srv.clock.advance(86401)
    assert srv.call("POST", "/v1/cache", json={}).status_code == 201


def test_claim_respects_the_quota(srv: Server) -> None:
    account_id, raw = srv.account("small@example.com")
    srv.state.store.set_plan(account_id, plan_tier="free", memory_limit=1, monthly_api_call_limit=100)
    cache = create_cache(srv)
    for key in ("a", "b"):
        srv.call("POST", "/v1/cache/set", cache["rawToken"], {"key": key, "value": "v"})
    r = srv.call("POST", "/v1/cache/claim", raw, {"claimToken": cache["claimToken"]})
    assert_error(r, 403, "quota_exceeded", "Memory limit reached (0 / 1).")
    assert srv.call("POST", "/v1/cache/preview", json={"claimToken": cache["claimToken"]}).status_code == 200
