"""Ingest: ``add_many`` throughput against the raw embedder, embedder slice sizes interleaved in one run.

    .venv/bin/python bench/ingest.py [--texts 256] [--rounds 5] [--slices 64,32]

Each round, for each slice size (``embedding.embedder.BATCH_SIZE``): the raw embedder on the texts, then
``add_many`` of the same texts into a fresh scope (dedup on, the default), then 20 single-query embeds.
Medians over rounds; the slice sizes take turns so they share the machine's noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from memorylayer.embedding import embedder as embedding
from memorylayer.engine import Engine
from perf import corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slices", default="64,32")
    args = parser.parse_args()
    slices = [int(s) for s in args.slices.split(",")]
    engine = Engine.open(Path(tempfile.mkdtemp(prefix="ml-ingest-")))
    embed = engine.embedder.embed
    embed(["warm up"])
    texts = corpus(args.texts * args.rounds * len(slices) * 2)
    raw: dict[int, list[float]] = {s: [] for s in slices}
    add: dict[int, list[float]] = {s: [] for s in slices}
    query: dict[int, list[float]] = {s: [] for s in slices}
    batches = iter(range(0, len(texts), args.texts))
    for _ in range(args.rounds):
        for size in slices:
            embedding.BATCH_SIZE = size
            start = time.perf_counter()
            embed(texts[next(batches) :][: args.texts])
            raw[size].append(args.texts / (time.perf_counter() - start))
            first = next(batches)
            start = time.perf_counter()
            engine.add_many(f"ingest-{first}", texts[first : first + args.texts])
            add[size].append(args.texts / (time.perf_counter() - start))
            for i in range(20):
                start = time.perf_counter()
                embed([f"what does the billing service depend on {i}?"])
                query[size].append((time.perf_counter() - start) * 1000)
    best_raw = max(statistics.median(raw[s]) for s in slices)
    results = {
        str(s): {
            "raw_embedder_texts_per_s": statistics.median(raw[s]),
            "add_many_texts_per_s": statistics.median(add[s]),
            "add_many_vs_best_raw": statistics.median(add[s]) / best_raw,
            "query_embed_p50_ms": statistics.median(query[s]),
        }
        for s in slices
    }
    results["add_many_vs_first_slice"] = {
        str(s): statistics.median(add[s]) / statistics.median(add[slices[0]]) for s in slices
    }
    results["load_average"] = list(os.getloadavg())
    engine.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
