"""verify on a labelled set (bench/data/verify.json): accuracy per verdict and the median time of a check.

The statements (supported, contradicted, not enough information) are written for this benchmark
over the user scopes of bench/data/facts.json (345 memories, 44 scopes), not taken from LoCoMo.
Those marked ``holdout`` were written after the offline checks were fixed on the ``dev`` ones, so
their accuracy is the honest one. Each is checked offline (``Engine.verify(..., offline=True)``) against its own scope.

    .venv/bin/python bench/verify.py [--out PATH] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FACTS = HERE / "data" / "facts.json"
DATA = HERE / "data" / "verify.json"
DEFAULT_OUT = HERE / "results" / "verify.json"


def main(argv: list[str] | None = None) -> int:
    from facts import load
    from memorylayer.engine import Engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--show-misses", action="store_true", help="print every statement judged wrongly")
    args = parser.parse_args(argv)
    scopes = json.loads(FACTS.read_text(encoding="utf-8"))["scopes"]
    statements = json.loads(DATA.read_text(encoding="utf-8"))["statements"]
    right: dict[str, list[bool]] = defaultdict(list)
    by_set: dict[str, list[bool]] = defaultdict(list)
    confusion: Counter[tuple[str, str]] = Counter()
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as home, Engine.open(home=Path(home)) as engine:
        load(engine, scopes)
        engine.verify(scopes[0]["scope"], "warm-up statement", offline=True)  # the model loads once
        for s in statements:
            start = time.perf_counter()
            result = engine.verify(s["scope"], s["statement"], offline=True)
            seconds.append(time.perf_counter() - start)
            right[s["verdict"]].append(result.verdict == s["verdict"])
            by_set[s["set"]].append(result.verdict == s["verdict"])
            confusion[(s["verdict"], result.verdict)] += 1
            if args.show_misses and result.verdict != s["verdict"]:
                reason = result.evidence[0].reason if result.evidence else ""
                print(f"  {s['scope']}: {s['statement']!r}: {result.verdict}, expected {s['verdict']} {reason}")
    report = {
        "memories": sum(len(s["memories"]) for s in scopes),
        "statements": len(statements),
        "accuracy": round(sum(sum(v) for v in right.values()) / len(statements), 3),
        "per_verdict": {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 3)} for k, v in sorted(right.items())},
        "per_set": {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 3)} for k, v in sorted(by_set.items())},
        "confusion": {f"{k[0]} -> {k[1]}": n for k, n in sorted(confusion.items())},
        "median_ms": round(statistics.median(seconds) * 1000, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
