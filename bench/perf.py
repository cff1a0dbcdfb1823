"""Engine speed and memory: add throughput, search/recall latency at 1k/10k/100k/1M memories, resident memory,
the first search of a new process (cold start), and searches from 1, 2 and 4 concurrent clients.

    .venv/bin/python bench/perf.py [--sizes 1000,10000,100000,1000000] [--queries 60] [--out bench/results/perf.json]
        [--homes DIR]

``--homes DIR`` keeps each size's scope in ``DIR/<size>`` and reuses it on later runs (building the 1M
scope takes a while); a missing one is built from the largest smaller one kept, and a kept one is read through
once before it is measured (:func:`read_through`). Each size also reports
search time split into its parts (query embed, vector index, keyword side, the rest: fusion, rows) and the
vector index's recall@10 and recall@50 against an exact scan of the same scope.

Every figure comes from one run, next to the raw embedder's own figures measured in the same run,
so ratios are meaningful on a noisy 2-core machine. Memories beyond the first ``--real`` ones are
stored with vectors made by perturbing real embeddings (embedding 100k texts takes ~20 minutes here);
search cost does not depend on the vector values, and their text is real for BM25.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from memorylayer.engine import Engine
from memorylayer.engine.retrieval import lexical_match_terms
from memorylayer.engine.text import analyze_query
from memorylayer.engine.writes import Prepared
from memorylayer.types import NewMemory

SUBJECTS = [
    "The deploy job",
    "Alice",
    "The billing service",
    "Our API gateway",
    "The user",
    "Bob's team",
    "The staging cluster",
    "The mobile app",
    "The data pipeline",
    "Customer support",
]
VERBS = [
    "prefers",
    "runs on",
    "depends on",
    "was migrated to",
    "is owned by",
    "reports to",
    "uses",
    "stores logs in",
    "is deployed with",
    "talks to",
]


def corpus(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = [w.strip() for w in (Path(__file__).parent / "words.txt").read_text().split()]
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {' '.join(rng.sample(words, 6))} (note {i})" for i in range(n)]


def questions(n: int) -> list[str]:
    """The benchmarks' queries: a subject and a verb of the corpus ("what does the billing service use?")."""
    return [
        f"what does {random.Random(i).choice(SUBJECTS).lower()} {random.Random(i + 1).choice(VERBS)}?" for i in range(n)
    ]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


COLD_START = """
import json, sys, time
from pathlib import Path
from memorylayer.engine import Engine
from memorylayer.engine.retrieval import lexical_match_terms
from memorylayer.engine.text import analyze_query
start = time.perf_counter()
engine = Engine.open(Path(sys.argv[1]))
engine.embedder.embed(["warm up"])
opened = time.perf_counter()
engine.search(sys.argv[2], scope="main", top_k=5)
first = time.perf_counter()
engine.search(sys.argv[2] + " again", scope="main", top_k=5)
second = time.perf_counter()
status = Path("/proc/self/status").read_text().splitlines()
rss = [int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:")][0]
print(json.dumps({"open_s": opened - start, "first_search_s": first - opened,
                  "second_search_ms": (second - first) * 1000, "rss_after_mb": rss}))
"""


def cold_start(home: Path, query: str) -> dict[str, float]:
    """Open the home in a new process and time its first search (what every CLI call and restart pays)."""
    done = subprocess.run([sys.executable, "-c", COLD_START, str(home), query], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def concurrent_searches(engine: Engine, queries: list[str], clients: int, seconds: float = 3.0) -> float:
    """Searches per second of one scope from ``clients`` threads sharing one engine (as a server's workers do)."""
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def client(n: int) -> None:
        i = n
        while time.perf_counter() < stop:
            engine.search(queries[i % len(queries)], scope="main", top_k=5)
            counts[n] += 1
            i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def grow(engine: Engine, base: np.ndarray, texts: list[str], real: int, size: int) -> None:
    """Fill scope "main" up to ``size`` memories: the first ``real`` with real vectors, then perturbed copies.

    Chunk ``n``'s vectors come from its own seed, so a scope grown in steps (or reused from ``--homes``)
    holds the same vectors as one grown at once.
    """
    stored = scope_size(engine)
    if stored == 0:
        engine.commit(Prepared("main", [NewMemory(t) for t in texts[:real]], list(base), dedup="none"))
        stored = real
    while stored < size:
        chunk = min(5000, size - stored)
        rng = np.random.default_rng((3, stored))
        vectors = base[rng.integers(0, len(base), chunk)] + rng.normal(0, 0.05, (chunk, base.shape[1]))
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        items = [NewMemory(text) for text in texts[stored : stored + chunk]]
        # Bulk load with prepared vectors: the public prepare/commit split, embedding skipped.
        engine.commit(Prepared("main", items, list(vectors), dedup="none"))
        stored += chunk


def scope_size(engine: Engine) -> int:
    return engine._shared.index.size(engine.account, "main")


def kept_home(homes: Path, size: int, base: np.ndarray, texts: list[str], real: int) -> Path:
    """``homes/<size>``, built (from the largest smaller home kept, else from nothing) when missing."""
    home = homes / str(size)
    if home.exists():
        return home
    smaller = sorted(int(p.name) for p in homes.glob("[0-9]*") if p.name.isdigit() and int(p.name) < size)
    building = homes / f"{size}.building"
    shutil.rmtree(building, ignore_errors=True)
    if smaller:
        shutil.copytree(homes / str(smaller[-1]), building)
    engine = Engine.open(building)
    grow(engine, base, texts, real, size)
    engine.close()
    building.rename(home)
    return home


def read_through(home: Path) -> None:
    """Read every file of ``home`` once, so the page cache holds them as it would for a server that has
    been running: a kept home's first searches otherwise wait on the disk for its SQLite pages (at 1M,
    2.7 GB of them), which made search p50 depend on what the machine did before the run."""
    for file in sorted(p for p in home.rglob("*") if p.is_file()):
        with open(file, "rb") as src:
            while src.read(1 << 24):
                pass


def split(engine: Engine, queries: list[str], top_k: int) -> dict[str, float]:
    """Median time of the vector index, of an exact scan of the same scope, and of the keyword side
    (term statistics and BM25) per query, each called as search calls it; and the index's
    recall@10/@50 against the exact scan."""
    retriever = engine._shared.retriever
    store, index, account = retriever.store, retriever.index, engine.account
    pool = engine.ranking.pool_size(top_k)
    vector_ms, exact_ms, keyword_ms, recall10, recall50 = [], [], [], [], []
    for query in queries:
        vector = engine.embedder.embed([query])[0]
        start = time.perf_counter()
        found = index.search(account, "main", vector, pool)
        vector_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        exact = index.search(account, "main", vector, pool, exact=True)
        exact_ms.append((time.perf_counter() - start) * 1000)
        for k, out in ((10, recall10), (50, recall50)):
            out.append(len({r for r, _ in found[:k]} & {r for r, _ in exact[:k]}) / k)
        start = time.perf_counter()
        terms = analyze_query(query)
        documents, frequencies = store.term_stats(terms)
        store.lexical(account, "main", lexical_match_terms(terms, frequencies, documents, engine.ranking), pool)
        keyword_ms.append((time.perf_counter() - start) * 1000)
    return {
        "vector_p50_ms": statistics.median(vector_ms),
        "exact_scan_p50_ms": statistics.median(exact_ms),
        "keyword_p50_ms": statistics.median(keyword_ms),
        "recall_at_10_vs_exact": statistics.mean(recall10),
        "recall_at_50_vs_exact": statistics.mean(recall50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--real", type=int, default=1000, help="memories embedded for real")
    parser.add_argument("--out", default="bench/results/perf.json")
    parser.add_argument("--homes", help="keep and reuse each size's scope under this folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = corpus(max(sizes) + 200)
    queries = questions(args.queries)
    scratch = home = Path(tempfile.mkdtemp(prefix="ml-bench-"))
    engine = Engine.open(home)
    embedder = engine.embedder
    embedder.embed(["warm up"])
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }

    # Raw embedder, same texts as the engine will store.
    sample = texts[: args.real]
    query_embed = timed(lambda: embedder.embed([queries[0]]), args.queries)
    start = time.perf_counter()
    embedder.embed(sample)
    raw_batch = len(sample) / (time.perf_counter() - start)
    single_embed = timed(lambda: embedder.embed([texts[0]]), 50)
    results["embedder"] = {
        "query_p50_ms": statistics.median(query_embed),
        "single_text_p50_ms": statistics.median(single_embed),
        "batch_texts_per_s": raw_batch,
    }

    # Engine adds: one at a time, then one batch of the same size as the raw batch above.
    single_texts = iter(texts[args.real : args.real + 100])
    single = timed(lambda: engine.add("single", next(single_texts), extract=False), 100)
    start = time.perf_counter()
    engine.add_many("main", sample)  # the default: dedup on
    batch_rate = len(sample) / (time.perf_counter() - start)
    results["add"] = {
        "single_p50_ms": statistics.median(single),
        "single_p95_ms": pct(single, 0.95),
        "batch_texts_per_s": batch_rate,
        "batch_vs_raw_embedder": batch_rate / raw_batch,
    }

    base = embedder.embed(sample)
    scale: dict[str, object] = {}
    for size in sizes:
        if args.homes:
            engine.close()
            home = kept_home(Path(args.homes), size, base, texts, args.real)
            read_through(home)
            engine = Engine.open(home)
            embedder = engine.embedder
            embedder.embed(["warm up"])
        else:
            grow(engine, base, texts, args.real, size)
        engine.search(queries[0], scope="main")  # sync the vector index once
        # Embedding alone, search and recall take turns query by query, so all three see the same noise.
        embed_q, search, recall = [], [], []
        for query in queries:
            embed_q += timed(lambda query=query, embedder=embedder: embedder.embed([query]), 1)
            search += timed(lambda query=query, engine=engine: engine.search(query, scope="main", top_k=5), 1)
            recall += timed(lambda query=query, engine=engine: engine.recall("main", query), 1)
        scale[str(size)] = {
            "query_embed_p50_ms": statistics.median(embed_q),
            "search_p50_ms": statistics.median(search),
            "search_p95_ms": pct(search, 0.95),
            "recall_p50_ms": statistics.median(recall),
            "recall_p95_ms": pct(recall, 0.95),
            "search_vs_embed": statistics.median(search) / statistics.median(embed_q),
            **split(engine, queries, 5),
            "rss_mb": rss_mb(),
        }
        # Steady state: the first overlapping searches load the embedder's one-thread session (OnnxEmbedder.serving).
        concurrent_searches(engine, queries, 2, seconds=0.5)
        throughput = {n: concurrent_searches(engine, queries, n) for n in (1, 2, 4)}
        scale[str(size)]["searches_per_s"] = {str(n): rate for n, rate in throughput.items()}
        scale[str(size)]["two_clients_vs_one"] = throughput[2] / throughput[1]
        scale[str(size)]["cold_start"] = cold_start(home, queries[1])
        print(size, json.dumps(scale[str(size)]), file=sys.stderr)
    results["scale"] = scale
    engine.close()
    shutil.rmtree(scratch, ignore_errors=True)  # kept homes (--homes) stay
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
