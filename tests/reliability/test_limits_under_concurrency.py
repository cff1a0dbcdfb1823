"""Every limit holds to the unit when requests race: threads on one server, and separate server processes.

Each test runs three times: against one server with many client threads, against three server
processes (replicas) on one SQLite file, and against three replicas on one PostgreSQL database
(stateless: every limit lives in the database), with the same threads spread over them. Every request is
released at once by a barrier. Not one request more than the limit succeeds, and the database
holds exactly what the successful answers acknowledged.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster import race, replicas

from memorylayer.config import Settings
from memorylayer.server import ServerSettings, admin, create_app
from memorylayer.store import open_backend
from support import delivered_code, serve_in_thread

SERVER_TOML = """
trusted_ip_header = "x-real-ip"
cache_creations_per_ip = 3
cache_max_entries = 5
codes_per_ip_per_hour = 6
codes_per_email_per_hour = 3
code_max_attempts = 5

[plans.quota]
memory_limit = 20
monthly_api_calls = 100000
containers = 0

[plans.caps]
memory_limit = 1000
monthly_api_calls = 100000
containers = 3

[plans.calls]
memory_limit = 1000
monthly_api_calls = 10

[plans.mcp]
memory_limit = 1000
monthly_api_calls = 100000
mcp_daily_calls = 5
"""


@dataclass
class Cluster:
    home: Path
    urls: list[str]
    #: The PostgreSQL URL the replicas share; empty: the home's SQLite file.
    database: str = ""

    def _backend(self) -> Any:
        return open_backend(self.database or "sqlite:///" + str(self.home / "memory.db"))

    def account(self, plan: str) -> tuple[str, str]:
        """A fresh account on ``plan`` and a full-scope key: (account id, raw key)."""
        backend = self._backend()
        try:
            server = ServerSettings.load(self.home)
            made = admin.create_account(backend.accounts, server, f"{uuid.uuid4().hex[:10]}@example.com", plan=plan)
            return made.id, admin.create_key(backend.accounts, made.id)[1]
        finally:
            backend.close()

    def live_memories(self, account_id: str) -> int:
        if self.database:
            backend = self._backend()
            try:
                owners = [account_id, *(c.id for c in backend.accounts.containers(account_id))]
                return backend.memories.count_live(owners)
            finally:
                backend.close()
        with closing(sqlite3.connect(self.home / "memory.db")) as conn:
            row = conn.execute(
                "SELECT count(*) FROM memories WHERE superseded_by IS NULL AND account IN "
                "(SELECT id FROM wm_accounts WHERE id = ? OR parent_account_id = ?)",
                (account_id, account_id),
            ).fetchone()
        return int(row[0])

    def integrity(self) -> str:
        if self.database:  # PostgreSQL checks its own pages; that the database answers is what is left
            backend = self._backend()
            try:
                backend.check()
                return "ok"
            finally:
                backend.close()
        with closing(sqlite3.connect(self.home / "memory.db")) as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _home(root: Path) -> Path:
    home = root / "home"
    home.mkdir(mode=0o700)
    (home / "server.toml").write_text(SERVER_TOML, encoding="utf-8")
    return home


@pytest.fixture(scope="module", params=["threads", "processes", "postgres-replicas"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = _home(tmp_path_factory.mktemp(f"limits-{request.param}"))
    database = ""
    if request.param == "threads":
        app = create_app(Settings.load(home=home, database="sqlite:///" + str(home / "memory.db")))
        with serve_in_thread(app, lifespan="on") as url:
            yield Cluster(home, [url])
        app.state.server.engine.close()
    else:
        if request.param == "postgres-replicas":
            from postgres_server import shared

            database = shared().new_database()
        env = {"MEMORYLAYER_DATABASE": database or "sqlite:///" + str(home / "memory.db")}
        with replicas(home, 3, env=env) as started:
            yield Cluster(home, [r.url for r in started], database)
    assert Cluster(home, [], database).integrity() == "ok"


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def _statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


def _codes(answers: list[httpx.Response]) -> Counter[str]:
    return Counter(a.json()["error"]["code"] for a in answers if a.status_code >= 400)


def test_the_memory_quota(cluster: Cluster) -> None:
    account, key = cluster.account("quota")
    with httpx.Client(base_url=cluster.urls[0], headers=_auth(key)) as client:
        for i in range(18):
            assert (
                client.post("/v1/memories", json={"scope": "s", "key": f"pre{i}", "value": f"v{i}"}).status_code == 200
            )
    calls = [
        (
            lambda c, i=i: c.post(
                "/v1/memories", json={"scope": "s", "key": f"k{i}", "value": f"x{i}"}, headers=_auth(key)
            )
        )
        for i in range(20)
    ]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {200: 2, 403: 18} and _codes(answers) == {"quota_exceeded": 18}
    assert cluster.live_memories(account) == 20


def test_the_memory_quota_when_partial_batches_race(cluster: Cluster) -> None:
    account, key = cluster.account("quota")
    with httpx.Client(base_url=cluster.urls[0], headers=_auth(key)) as client:
        pre = [{"key": f"pre{i}", "value": f"v{i}"} for i in range(10)]
        assert client.post("/v1/memories/batch", json={"scope": "s", "items": pre}).status_code == 200
    calls = [
        (
            lambda c, i=i: c.post(
                "/v1/memories/batch",
                json={
                    "scope": "s",
                    "partial": True,
                    "items": [{"key": f"b{i}-{j}", "value": f"x{j}"} for j in range(3)],
                },
                headers=_auth(key),
            )
        )
        for i in range(10)
    ]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {200: 10}
    statuses = Counter(r["status"] for a in answers for r in a.json()["results"])
    assert statuses == {"stored": 10, "refused": 20}
    assert {r.get("code") for a in answers for r in a.json()["results"] if r["status"] == "refused"} == {
        "quota_exceeded"
    }
    assert cluster.live_memories(account) == 20


def test_the_memory_quota_when_a_claim_races_adds(cluster: Cluster) -> None:
    account, key = cluster.account("quota")
    with httpx.Client(base_url=cluster.urls[0], headers=_auth(key)) as client:
        for i in range(15):
            assert (
                client.post("/v1/memories", json={"scope": "s", "key": f"pre{i}", "value": f"v{i}"}).status_code == 200
            )
        made = client.post("/v1/cache", json={}, headers={"x-real-ip": "10.1.0.1"}).json()["cache"]
        for i in range(4):
            entry = {"key": f"e{i}", "value": f"cached {i}"}
            assert client.post("/v1/cache/set", json=entry, headers=_auth(made["rawToken"])).status_code == 200
    claim = [lambda c: c.post("/v1/cache/claim", json={"claimToken": made["claimToken"]}, headers=_auth(key))]
    adds = [
        (
            lambda c, i=i: c.post(
                "/v1/memories", json={"scope": "s", "key": f"k{i}", "value": f"x{i}"}, headers=_auth(key)
            )
        )
        for i in range(10)
    ]
    answers = race(cluster.urls, claim + adds)
    claimed = answers[0].status_code == 200
    added = sum(a.status_code == 200 for a in answers[1:])
    assert added + (4 if claimed else 0) == 5  # exactly the five free slots, never one more
    assert cluster.live_memories(account) == 20


def test_the_container_cap(cluster: Cluster) -> None:
    _, key = cluster.account("caps")
    calls = [(lambda c, i=i: c.post("/v1/containers", json={"name": f"c{i}"}, headers=_auth(key))) for i in range(10)]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {201: 3, 403: 7} and _codes(answers) == {"container_limit_exceeded": 7}
    with httpx.Client(base_url=cluster.urls[0], headers=_auth(key)) as client:
        assert client.get("/v1/containers").json()["total"] == 3


def test_the_monthly_api_calls(cluster: Cluster) -> None:
    _, key = cluster.account("calls")
    answers = race(cluster.urls, [lambda c: c.get("/v1/account", headers=_auth(key))] * 30)
    assert _statuses(answers) == {200: 10, 429: 20}
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)


def test_the_mcp_daily_calls(cluster: Cluster) -> None:
    _, key = cluster.account("mcp")
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "memory_list", "arguments": {}}}
    headers = _auth(key, Accept="application/json, text/event-stream")
    answers = race(cluster.urls, [lambda c: c.post("/mcp", json=call, headers=headers)] * 15)
    results = [a.json()["result"] for a in answers]
    refused = [r for r in results if r["isError"]]
    assert len(results) - len(refused) == 5
    assert len(refused) == 10 and all(r["content"][0]["text"].startswith("[rate_limited]") for r in refused)


def test_the_cache_entry_cap(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.urls[0]) as client:
        token = client.post("/v1/cache", json={}, headers={"x-real-ip": "10.2.0.1"}).json()["cache"]["rawToken"]
    calls = [
        (lambda c, i=i: c.post("/v1/cache/set", json={"key": f"k{i}", "value": "v"}, headers=_auth(token)))
        for i in range(20)
    ]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {200: 5, 403: 15} and _codes(answers) == {"cache_entry_limit": 15}
    with httpx.Client(base_url=cluster.urls[0]) as client:
        assert len(client.get("/v1/cache/list", headers=_auth(token)).json()["entries"]) == 5


def test_cache_creation_per_address(cluster: Cluster) -> None:
    ip = {"x-real-ip": f"10.3.{uuid.uuid4().int % 250}.1"}
    answers = race(cluster.urls, [lambda c: c.post("/v1/cache", json={}, headers=ip)] * 10)
    assert _statuses(answers) == {201: 3, 429: 7}


def test_code_requests_per_email(cluster: Cluster) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    calls = [
        (lambda c, i=i: c.post("/v1/auth/request-code", json={"email": email}, headers={"x-real-ip": f"10.4.0.{i}"}))
        for i in range(10)
    ]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {200: 3, 429: 7}
    lines = (cluster.home / "sign-in-codes.txt").read_text(encoding="utf-8").splitlines()
    assert sum(line.split("\t")[1] == email for line in lines) == 3


def test_code_requests_per_address(cluster: Cluster) -> None:
    ip = {"x-real-ip": f"10.5.{uuid.uuid4().int % 250}.1"}
    calls = [
        (
            lambda c, i=i: c.post(
                "/v1/auth/request-code", json={"email": f"{uuid.uuid4().hex[:8]}@x.example"}, headers=ip
            )
        )
        for i in range(12)
    ]
    answers = race(cluster.urls, calls)
    assert _statuses(answers) == {200: 6, 429: 6}


def test_wrong_guesses_lock_the_email_and_a_new_code_does_not_lift_it(cluster: Cluster) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=cluster.urls[0]) as client:
        assert client.post("/v1/auth/request-code", json={"email": email}).status_code == 200
    code = delivered_code(cluster.home, email)
    assert code is not None
    wrong = "100000" if code != "100000" else "100001"
    guess = {"email": email, "code": wrong}
    answers = race(cluster.urls, [lambda c: c.post("/v1/auth/verify-code", json=guess)] * 40)
    assert _statuses(answers) == {401: 5, 429: 35}  # exactly five guesses were evaluated
    with httpx.Client(base_url=cluster.urls[-1]) as client:
        assert client.post("/v1/auth/request-code", json={"email": email}).status_code == 200
        fresh = delivered_code(cluster.home, email)
        r = client.post("/v1/auth/verify-code", json={"email": email, "code": fresh})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


def test_one_idempotency_key_writes_once_and_answers_everyone_alike(cluster: Cluster) -> None:
    account, key = cluster.account("caps")
    body = {"scope": "me", "value": "I live in Oslo and I work as a nurse."}
    headers = _auth(key, **{"Idempotency-Key": "one"})
    answers = race(cluster.urls, [lambda c: c.post("/v1/memories", json=body, headers=headers)] * 8)
    assert _statuses(answers) == {200: 8}
    memories = [a.json()["memories"] for a in answers]
    assert memories[0] and all(m == memories[0] for m in memories)
    assert cluster.live_memories(account) == len(memories[0])


def test_one_idempotency_key_with_other_bodies_writes_once(cluster: Cluster) -> None:
    account, key = cluster.account("caps")
    headers = _auth(key, **{"Idempotency-Key": "one"})
    calls: list[Any] = [
        (lambda c, i=i: c.post("/v1/memories", json={"scope": f"s{i}", "value": "I live in Oslo."}, headers=headers))
        for i in range(6)
    ]
    answers = race(cluster.urls, calls)
    # One ran; a concurrent one with another body is refused, one after it too.
    assert _statuses(answers) == {200: 1, 409: 5} and _codes(answers) == {"idempotency_conflict": 5}
    winner = next(a for a in answers if a.status_code == 200)
    assert cluster.live_memories(account) == len(winner.json()["memories"])
