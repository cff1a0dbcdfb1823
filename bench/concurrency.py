"""Searches per second from 1, 2 and 4 concurrent clients under three embedder thread plans, in one run.

    .venv/bin/python bench/concurrency.py DIR/100000 [--rounds 3] [--seconds 3]

``DIR/100000`` is a home kept by ``bench/perf.py --homes DIR``. Three engines open the same home:

- ``shipped``: the default embedder — two intra-op threads for a request alone, a one-thread session
  for each embed while several requests overlap (``OnnxEmbedder.serving``);
- ``two threads``: the same model behind an embedder with no ``serving``, so every embed runs on
  two threads (what main did before);
- ``one thread``: every embed on one thread.

Clients are threads sharing one engine, as a server's workers do. The plans take turns round by round
so they share the machine's noise; each also reports one search's p50 latency alone. Medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memorylayer.embedding.embedder import DEFAULT_MODEL_ID, OnnxEmbedder, default_model_path  # noqa: E402
from memorylayer.engine import Engine  # noqa: E402
from perf import concurrent_searches, questions  # noqa: E402


class Plain:
    """An embedder that is only the protocol (model id, width, embed): no ``serving``."""

    def __init__(self, threads: int) -> None:
        self._model = OnnxEmbedder(default_model_path(), model_id=DEFAULT_MODEL_ID, threads=threads)
        self.model_id = DEFAULT_MODEL_ID
        self.dimensions = self._model.dimensions

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._model.embed(texts)


def latency(engine: Engine, queries: list[str]) -> float:
    samples = []
    for query in queries:
        start = time.perf_counter()
        engine.search(query, scope="main", top_k=5)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("home", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    queries = questions(60)
    engines = {
        "shipped": Engine.open(args.home),
        "two threads": Engine.open(args.home, embedder=Plain(2)),
        "one thread": Engine.open(args.home, embedder=Plain(1)),
    }
    for engine in engines.values():
        concurrent_searches(engine, queries, 2, seconds=0.5)  # warm: caches, and the shipped narrow session
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    for _ in range(args.rounds):
        for name, engine in engines.items():
            for clients in (1, 2, 4):
                rate = concurrent_searches(engine, queries, clients, args.seconds)
                figures[name].setdefault(f"{clients} clients/s", []).append(rate)
            figures[name].setdefault("search p50 ms", []).append(latency(engine, queries))
    summary = {}
    for name, values in figures.items():
        medians = {label: statistics.median(v) for label, v in values.items()}
        medians["2 / 1"] = medians["2 clients/s"] / medians["1 clients/s"]
        summary[name] = medians
        print(f"{name:12s} " + "  ".join(f"{label} {value:7.2f}" for label, value in medians.items()))
    for engine in engines.values():
        engine.close()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
