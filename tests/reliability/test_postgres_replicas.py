"""Three real server processes on one PostgreSQL database, driven concurrently through the SDK.

The replicas are stateless: memories, counters, idempotency reservations and locks live in the
database, and vector search runs in pgvector, so whichever replica answers, the answer is the same.
(Every limit racing across replicas is in ``test_limits_under_concurrency.py``, whose
``postgres-replicas`` cluster runs the same races on three such processes.)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cluster import Replica, replicas

from memorylayer import Client
from memorylayer.errors import MemoryLayerError
from memorylayer.server import ServerSettings, admin
from memorylayer.store import open_backend

WRITERS_PER_REPLICA = 3
WRITES_PER_WRITER = 12


@dataclass
class Deployment:
    database: str
    home: Path
    replicas: list[Replica]
    key: str

    def client(self, index: int, **options: float) -> Client:
        return Client(self.key, base_url=self.replicas[index].url, **options)  # type: ignore[arg-type]


def _all_values(client: Client, scope: str | None = None) -> list[str]:
    values: list[str] = []
    cursor: str | None = None
    while True:
        page = client.list(scope=scope, limit=100, cursor=cursor)
        values.extend(m.value for m in page.memories)
        cursor = page.next_cursor
        if cursor is None:
            return values


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    from postgres_server import shared

    database = shared().new_database()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    backend = open_backend(database)
    try:
        account = admin.create_account(
            backend.accounts, ServerSettings.load(home), "team@example.com", plan="enterprise"
        )
        key = admin.create_key(backend.accounts, account.id)[1]
    finally:
        backend.close()
    with replicas(home, 3, env={"MEMORYLAYER_DATABASE": database}) as started:
        yield Deployment(database, home, started, key)


def test_concurrent_writes_through_three_replicas_are_all_kept_once_and_seen_by_every_replica(
    deployment: Deployment,
) -> None:
    acknowledged: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(replica: int, name: str) -> None:
        try:
            with deployment.client(replica) as client:
                for i in range(WRITES_PER_WRITER):
                    value = f"{name} fact {i}"
                    written = client.add("team", value, key=f"{name}-{i}")
                    assert [m.value for m in written.memories] == [value]
                    with lock:
                        acknowledged.append(value)
        except BaseException as exc:  # a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(r, f"r{r}w{w}")) for r in range(3) for w in range(WRITERS_PER_REPLICA)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert len(acknowledged) == 3 * WRITERS_PER_REPLICA * WRITES_PER_WRITER
    for index in range(3):  # every replica answers with every write, each exactly once
        with deployment.client(index) as client:
            values = _all_values(client, "team")
            assert sorted(values) == sorted(acknowledged)
            assert client.get("team", "r2w1-3").memory.value == "r2w1 fact 3"  # type: ignore[union-attr]
            hits = client.recall("team", "r0w2 fact 7", threshold="permissive")
            assert "r0w2 fact 7" in [h.value for h in hits.memories]


def test_a_reused_idempotency_key_writes_once_across_replicas(deployment: Deployment) -> None:
    key = f"idem-{uuid.uuid4().hex[:8]}"
    answers: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(9, timeout=60)

    def send(replica: int) -> None:
        try:
            with deployment.client(replica) as client:
                barrier.wait()
                written = client.add("notes", "I live in Oslo and I work as a nurse.", idempotency_key=key)
                answers.append([m.id for m in written.memories])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i % 3,)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(answers) == 9
    assert answers[0] and all(a == answers[0] for a in answers)  # one write, the same answer for everyone
    with deployment.client(1) as client:
        assert len(_all_values(client, "notes")) == len(answers[0])


def test_kill_9_of_one_replica_mid_stream_loses_no_acknowledged_write(deployment: Deployment) -> None:
    acknowledged: list[str] = []
    cut: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    errors: list[BaseException] = []

    def writer(replica: int, name: str) -> None:
        # No retries: a write the killed replica never answered counts as cut, not acknowledged.
        try:
            with deployment.client(replica, max_retries=0, timeout=30) as client:
                for i in range(60):
                    value = f"{name} fact {i}"
                    try:
                        client.add("stream", value, key=f"{name}-{i}")
                    except MemoryLayerError:
                        with lock:
                            cut.append(value)
                        if replica == 0:
                            return  # its server is gone
                        raise
                    with lock:
                        acknowledged.append(value)
                        if len(acknowledged) >= 40:
                            enough.set()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(r, f"r{r}w{w}")) for r in range(3) for w in range(2)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=300)
    deployment.replicas[0].kill()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and not any(t.is_alive() for t in threads)
    with deployment.client(2) as client:
        stored = _all_values(client, "stream")
    assert set(acknowledged) <= set(stored)  # nothing acknowledged is lost
    assert len(stored) == len(set(stored))  # nothing is duplicated
    assert set(stored) <= set(acknowledged) | set(cut)  # nothing appears that was never sent
    assert any(v.startswith("r1") for v in acknowledged) and any(v.startswith("r0") for v in acknowledged)


def test_a_package_published_through_one_replica_installs_through_another(
    deployment: Deployment, tmp_path: Path
) -> None:
    import io

    from memorylayer.engine import Engine
    from memorylayer.registry.client import RegistryClient
    from memorylayer.registry.local import install, new_manifest, pack

    author = Engine.open(tmp_path / "author", database=f"sqlite:///{tmp_path / 'author.db'}")
    reader = Engine.open(tmp_path / "reader", database=f"sqlite:///{tmp_path / 'reader.db'}")
    try:
        author.add("runbook", "Deploys freeze on Fridays after 15:00.", key="freeze")
        with RegistryClient(deployment.replicas[0].url, deployment.key) as client:
            username = client.whoami()["username"]
            tarball = io.BytesIO()
            manifest = pack(author, new_manifest(f"@{username}/runbook", "runbook"), tarball)
            tarball.seek(0)
            client.publish(manifest["name"], manifest["version"], tarball, tag=None, access="private")
        with RegistryClient(deployment.replicas[2].url, deployment.key) as client:
            install(reader, client, f"@{username}/runbook", namespace="team-runbook")
        assert [m.value for m in reader.list(scope="team-runbook").memories] == [
            "Deploys freeze on Fridays after 15:00."
        ]
    finally:
        author.close()
        reader.close()
