"""`memorylayer admin` and `memorylayer serve` against a real home directory."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from server_support import build
from typer.testing import CliRunner

from memorylayer.cli import app
from support import wait_for_health

runner = CliRunner()


def admin(home: Path, *args: str) -> dict:
    result = runner.invoke(app, ["admin", *args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_admin_creates_accounts_sets_plans_and_mints_and_revokes_keys(home: Path) -> None:
    created = admin(home, "create-account", "Ops@Example.com")
    assert created["account"]["email"] == "ops@example.com" and created["account"]["plan_tier"] == "free"
    account_id, first_key = created["account"]["id"], created["api_key"]
    assert admin(home, "set-plan", "ops@example.com", "pro")["account"]["memory_limit"] == 100000
    minted = admin(home, "create-key", account_id, "--scopes", "memory:read", "--name", "reader")
    listed = admin(home, "list-keys", account_id)["keys"]
    assert {k["id"] for k in listed} >= {minted["key"]["id"]} and len(listed) == 2
    server = build(home)
    with server.client:
        who = server.call("GET", "/v1/account", minted["api_key"]).json()
        assert who["account"]["planTier"] == "pro" and who["key"]["name"] == "reader"
        assert (
            server.call("POST", "/v1/memories", minted["api_key"], {"scope": "s", "key": "k", "value": "v"}).status_code
            == 403
        )
        admin(home, "revoke-key", minted["key"]["id"])
        assert server.call("GET", "/v1/account", minted["api_key"]).status_code == 401
        assert server.call("GET", "/v1/account", first_key).status_code == 200
    server.state.engine.close()


def test_admin_reports_unknown_accounts_plans_and_duplicates(home: Path) -> None:
    admin(home, "create-account", "dup@example.com")
    result = runner.invoke(app, ["admin", "create-account", "dup@example.com", "--home", str(home), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["error"]["code"] == "conflict"
    result = runner.invoke(app, ["admin", "set-plan", "ghost@example.com", "pro", "--home", str(home), "--json"])
    assert result.exit_code == 3 and json.loads(result.stdout)["error"]["code"] == "not_found"
    result = runner.invoke(app, ["admin", "set-plan", "dup@example.com", "platinum", "--home", str(home), "--json"])
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == "invalid_request"


def test_a_key_minted_with_admin_on_the_served_database_works_on_that_server(home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MEMORYLAYER_HOME": str(home)}
    command = [
        sys.executable,
        "-c",
        "from memorylayer.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--database",
        str(home / "served.db"),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        response = wait_for_health(port, process)
        assert response.json()["status"] == "ok" and response.headers["x-request-id"]
        missing = httpx.get(f"http://127.0.0.1:{port}/v1/account", timeout=5)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        assert (home / "served.db").exists()
        # docs/server.md's flow: the operator mints a key into the database the server runs on.
        created = admin(home, "create-account", "ops@example.com", "--database", str(home / "served.db"))
        headers = {"Authorization": f"Bearer {created['api_key']}"}
        who = httpx.get(f"http://127.0.0.1:{port}/v1/account", headers=headers, timeout=5)
        assert who.status_code == 200 and who.json()["account"]["email"] == "ops@example.com"
        assert not (home / "memory.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_container_keys_from_the_cli_default_to_read_write_and_never_hold_admin(home: Path) -> None:
    owner = admin(home, "create-account", "owner@example.com", "--plan", "pro")
    server = build(home)
    with server.client:
        made = server.call("POST", "/v1/containers", owner["api_key"], {"name": "team"}).json()["container"]
        key = admin(home, "create-key", made["id"])
        assert key["key"]["scopes"] == "memory:read,memory:write"
        for scopes in ("account:admin", "memory:read, account:admin"):
            result = runner.invoke(
                app, ["admin", "create-key", made["id"], "--scopes", scopes, "--home", str(home), "--json"]
            )
            assert result.exit_code == 2, result.output
            assert json.loads(result.stdout)["error"]["code"] == "invalid_request"
        assert admin(home, "create-key", owner["account"]["id"])["key"]["scopes"].endswith("account:admin")
        who = server.call("GET", "/v1/account", key["api_key"]).json()
        assert who["account"]["id"] == made["id"]
    server.state.engine.close()


def test_a_container_key_stored_with_admin_still_cannot_claim_a_cache(home: Path) -> None:
    from memorylayer.server.auth import FULL_SCOPES, mint_key
    from memorylayer.types import now_ms

    owner = admin(home, "create-account", "owner@example.com", "--plan", "pro")
    server = build(home)
    with server.client:
        made = server.call("POST", "/v1/containers", owner["api_key"], {"name": "team"}).json()["container"]
        _, legacy = mint_key(server.state.store, made["id"], scopes=FULL_SCOPES, now=now_ms())  # as before the fix
        claim = server.call("POST", "/v1/cache", json={}).json()["cache"]["claimToken"]
        r = server.call("POST", "/v1/cache/claim", legacy, {"claimToken": claim})
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
        assert "account:admin" not in r.json()["error"]["details"]["granted"]
        assert server.call("POST", "/v1/cache/preview", json={"claimToken": claim}).status_code == 200
    server.state.engine.close()


def test_serve_with_two_workers_answers_from_both_processes_over_one_database_and_stops_them_all(
    home: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MEMORYLAYER_HOME": str(home)}
    log = tmp_path / "serve.log"
    command = [sys.executable, "-c", "from memorylayer.cli import main; main()", "serve", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen([*command, "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_health(port, process, log=log)
        key = admin(home, "create-account", "ops@example.com")["api_key"]
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}/v1"
        # Each request on a new connection, so the kernel may hand it to either worker.
        for n in range(6):
            body = {"scope": "s", "key": f"k{n}", "value": f"fact number {n} about the deploy"}
            assert httpx.post(f"{base}/memories", json=body, headers=headers, timeout=30).status_code == 200
        for _ in range(6):  # every process sees every write, whichever wrote it
            found = httpx.post(f"{base}/memories/list", json={"scope": "s"}, headers=headers, timeout=30)
            assert found.status_code == 200 and len(found.json()["memories"]) == 6, found.text
        served: set[str] = set()
        for _ in range(200):
            served = set(re.findall(r"\[(\d+)\] memorylayer\.server: ", log.read_text()))
            if len(served) >= 2:
                break
            httpx.get(f"{base}/account", headers=headers, timeout=30)
        assert len(served) == 2, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
    for pid in served:  # the workers went with the parent
        for _ in range(50):
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"worker {pid} outlived serve")
