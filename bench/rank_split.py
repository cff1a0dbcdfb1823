"""Where one search's time goes apart from the query embed: each stage of ``Retriever.rank`` timed on a kept
home of bench/perf.py (``--homes``), medians and means over the queries.

    .venv/bin/python bench/rank_split.py DIR/100000 [--queries 40]

Each stage is timed where search calls it (the store's and the vector index's methods, the retriever's
steps); run it on two commits to compare them. Medians of the parts need not add up to the total's on
a loaded machine; means do.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memorylayer.engine import Engine, retrieval  # noqa: E402
from perf import questions  # noqa: E402

STORE = ("term_stats", "lexical", "terms_for", "rank_fields", "get_many_by_rowid")
INDEX = ("search", "vectors")
STEPS = ("_candidates", "_signals", "_neighbours", "_affinity", "_order")


def timed(spent: dict[str, float], label: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("home", type=Path, help="a kept home of bench/perf.py --homes (scope 'main')")
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    engine = Engine.open(args.home)
    retriever = engine._shared.retriever
    # The same queries as bench/perf.py.
    queries = questions(args.queries)
    vectors = [engine.embedder.embed([q])[0] for q in queries]
    pool = engine.ranking.pool_size(5)
    engine.search(queries[0], scope="main")  # sync the vector index once
    spent: dict[str, float] = defaultdict(float)
    for owner, names, prefix in ((retriever.store, STORE, "store."), (retriever.index, INDEX, "index.")):
        for name in names:
            setattr(owner, name, timed(spent, prefix + name, getattr(owner, name)))
    for name in STEPS:
        setattr(retriever, name, timed(spent, name, getattr(retriever, name)))
    retrieval.lift_neighbours = timed(spent, "lift_neighbours", retrieval.lift_neighbours)
    samples: dict[str, list[float]] = defaultdict(list)
    for query, vector in zip(queries, vectors, strict=True):
        spent.clear()
        start = time.perf_counter()
        retriever.rank(engine.account, ["main"], query, pool, 5, 0.0, vector)
        spent["rank (no embed)"] = time.perf_counter() - start
        for label, seconds in spent.items():
            samples[label].append(seconds * 1000)
    for label in sorted(samples):
        values = samples[label] + [0.0] * (len(queries) - len(samples[label]))
        print(f"{label:26s} p50 {statistics.median(values):7.2f} ms   mean {statistics.mean(values):7.2f} ms")
    engine.close()


if __name__ == "__main__":
    main()
