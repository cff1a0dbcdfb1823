"""PostgreSQL's bulk store path against one insert at a time, and HNSW kept in place against rebuilt.

    .venv/bin/python bench/bulk_load.py [--rows 50000] [--single 2000]

Each way loads ``--rows`` memories (random unit vectors of 384 dimensions, short texts) into one scope
of a fresh database already holding an HNSW index, and prints memories per second: ``insert`` one at a
time in one transaction (``--single`` rows, the path before the bulk one), ``insert_many`` with the
index in place, and ``insert_many`` dropping and rebuilding it (docs/deploy.md "Bulk loads").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from memorylayer.store import open_backend  # noqa: E402
from memorylayer.store.postgres import bulk as postgres_bulk  # noqa: E402
from memorylayer.types import MemoryRecord  # noqa: E402

MODEL, DIMENSIONS = "bench-model", 384


def _records(n: int, rng: np.random.Generator) -> tuple[list[MemoryRecord], list[np.ndarray], list[list[str]]]:
    words = ["launch", "friday", "rocket", "moon", "tea", "deploy", "merge", "review", "budget", "travel"]
    values = [" ".join(rng.choice(words, 6)) + f" note {i}" for i in range(n)]
    records = [
        MemoryRecord(
            id=str(uuid.uuid4()),
            scope="main",
            key=None,
            value=v,
            metadata={},
            importance=0.5,
            source="explicit",
            status="ready",
            created_at=1_000,
            updated_at=1_000,
            content_hash=str(hash(v)),
            model=MODEL,
            account="a",
        )
        for v in values
    ]
    vectors = rng.normal(size=(n, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return records, list(vectors), [v.split() for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--single", type=int, default=2_000)
    args = parser.parse_args()
    from postgres_server import PostgresServer

    rng = np.random.default_rng(5)
    server = PostgresServer()
    out: dict[str, float] = {"load_at_start": os.getloadavg()[0]}
    try:
        for way, rows in (
            ("insert, one at a time", args.single),
            ("insert_many, index kept", args.rows),
            ("insert_many, index rebuilt", args.rows),
        ):
            backend = open_backend(server.new_database())
            backend.vector_index(MODEL, DIMENSIONS)  # the index a serving replica has created
            records, vectors, terms = _records(rows, rng)
            postgres_bulk.BULK_REBUILD_ROWS = 1 if way.endswith("rebuilt") else rows + 1
            started = time.perf_counter()
            if way.startswith("insert,"):
                with backend.transaction():
                    for r, v, t in zip(records, vectors, terms, strict=True):
                        backend.memories.insert(r, v, t)
            else:
                backend.memories.insert_many(records, vectors, terms)
            out[way] = round(rows / (time.perf_counter() - started), 1)
            print(way, out[way], "memories/s", file=sys.stderr)
            backend.close()
    finally:
        server.stop()
    out["load_at_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
