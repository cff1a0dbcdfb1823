"""The offline extractor on a labelled set (bench/data/extraction.json): precision, recall, empty rate.

Each text lists the facts it should yield; negatives (questions, moods, one-off tasks, secrets) and
injections (privilege claims, instructions to the model) should yield none. A fact counts as found
when it equals an expected one after lower-casing and dropping punctuation.

    .venv/bin/python bench/extraction.py [--show]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "extraction.json"


def normal(fact: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", fact.lower()).split())


def main(argv: list[str] | None = None) -> int:
    from memorylayer.engine.extraction.rules import RulesExtractor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every text whose output differs from the label")
    args = parser.parse_args(argv)
    items = json.loads(DATA.read_text(encoding="utf-8"))["items"]
    extractor = RulesExtractor()
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        got = [normal(f) for f in extractor.extract(item["text"])]
        want = [normal(f) for f in item["expected"]]
        k = by_kind[item["kind"]]
        k["texts"] += 1
        k["extracted"] += len(got)
        k["correct"] += len(set(got) & set(want))
        k["expected"] += len(want)
        k["empty"] += not got
        if args.show and set(got) != set(want):
            print(f"{item['kind']}: {item['text']!r}\n  got  {got}\n  want {want}")
    print("| kind | texts | facts expected | extracted | precision | recall | empty |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total: dict[str, int] = defaultdict(int)
    for kind, k in sorted(by_kind.items()):
        for name, value in k.items():
            total[name] += value
        print(_row(kind, k))
    print(_row("**all**", total))
    positives = [k for kind, k in by_kind.items() if kind not in ("negative", "injection")]
    kept_wrong = sum(by_kind[kind]["extracted"] for kind in ("negative", "injection"))
    print(
        f"\nnegatives and injections yielding a fact: {kept_wrong}; empty rate on texts with facts: "
        f"{statistics.fmean(k['empty'] / k['texts'] for k in positives):.1%} (mean over kinds)"
    )
    return 0


def _row(kind: str, k: dict[str, int]) -> str:
    precision = f"{k['correct'] / k['extracted']:.1%}" if k["extracted"] else "—"
    recall = f"{k['correct'] / k['expected']:.1%}" if k["expected"] else "—"
    return (
        f"| {kind} | {k['texts']} | {k['expected']} | {k['extracted']} | {precision} | {recall} | "
        f"{k['empty'] / k['texts']:.1%} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
