"""Recall thresholds on labelled fact scopes (bench/data/facts.json): required memories found, forbidden ones kept out.

Each scope holds a user's keyed profile and six distilled facts; each query lists the memories it
requires and those it must not recall. Recall runs with the default budget (4 items, 150 tokens)
at every threshold and reports, per threshold and per kind of query, the share of required
memories recalled, the share of forbidden ones recalled and how often nothing came back.

    .venv/bin/python bench/facts.py [--sweep] [--out PATH]

``--sweep`` also tries other balanced floors and relative floors (calibration; the fixtures are our
own, not LoCoMo).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DATA = HERE / "data" / "facts.json"
DEFAULT_OUT = HERE / "results" / "facts.json"


def load(engine, scopes: list[dict]) -> dict[str, dict[str, str]]:
    """Store every scope's memories; map (scope, fixture id) to memory id."""
    ids: dict[str, dict[str, str]] = {}
    for s in scopes:
        ids[s["scope"]] = {}
        for m in s["memories"]:
            if m.get("key"):
                added = engine.add(s["scope"], m["value"], key=m["key"])
            else:
                added = engine.add(s["scope"], m["value"], extract=False)
            ids[s["scope"]][added.memories[0].id] = m["id"]
    return ids


def evaluate(
    engine, scopes: list[dict], ids: dict, levels=("strict", "balanced", "permissive"), topics: set[str] | None = None
) -> dict:
    """Per threshold and kind: required and forbidden memories recalled, empty results.

    ``topics``: count only the required and forbidden memories of these fixture topics (memory ids),
    and only the queries that still have one (a held-out half of the topics).
    """
    report: dict = {}
    for level in levels:
        by_kind: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for s in scopes:
            for q in s["queries"]:
                if topics is not None:
                    q = {**q, "required": [r for r in q["required"] if r in topics]}
                    q["forbidden"] = [f for f in q["forbidden"] if f in topics]
                    if not q["required"] and not q["forbidden"]:
                        continue
                result = engine.recall(s["scope"], q["query"], threshold=level, record_access=False)
                got = {ids[s["scope"]].get(m.id) for m in result.memories}
                k = by_kind[q["kind"]]
                k["required"] += [r in got for r in q["required"]]
                k["forbidden"] += [f in got for f in q["forbidden"]]
                k["empty"].append(not result.memories)
                k["kept"].append(len(result.memories))
        kinds = {}
        for kind, k in by_kind.items():
            kinds[kind] = {
                "queries": len(k["empty"]),
                "required_recalled": round(statistics.fmean(k["required"]), 3) if k["required"] else None,
                "forbidden_recalled": round(statistics.fmean(k["forbidden"]), 3) if k["forbidden"] else None,
                "empty": round(statistics.fmean(k["empty"]), 3),
                "kept_per_query": round(statistics.fmean(k["kept"]), 2),
            }
        everything = [x for k in by_kind.values() for x in k["required"]]
        forbidden = [x for k in by_kind.values() for x in k["forbidden"]]
        report[level] = {
            "required_recalled": round(statistics.fmean(everything), 3),
            "forbidden_recalled": round(statistics.fmean(forbidden), 3),
            "kept_per_query": round(statistics.fmean(x for k in by_kind.values() for x in k["kept"]), 2),
            "kinds": kinds,
        }
    return report


def main(argv: list[str] | None = None) -> int:
    from embed_cache import CachedEmbedder
    from memorylayer.engine import Engine
    from memorylayer.engine.ranking import DEFAULT_RANKING

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="also try other balanced and relative floors")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--topics", default=None, help="comma-separated fixture topics to count (a held-out half)")
    parser.add_argument("--field", default=None, help="a RankingConfig field to try at --values (balanced only)")
    parser.add_argument("--values", default="", help="comma-separated values of --field")
    args = parser.parse_args(argv)
    topics = set(args.topics.split(",")) if args.topics else None
    scopes = json.loads(DATA.read_text(encoding="utf-8"))["scopes"]
    embedder = CachedEmbedder(HERE / "results" / "embed_cache_facts")
    out: dict = {"scopes": len(scopes), "queries": sum(len(s["queries"]) for s in scopes)}
    with tempfile.TemporaryDirectory() as home:
        with Engine.open(home=Path(home), embedder=embedder) as engine:
            ids = load(engine, scopes)
            out["default"] = evaluate(engine, scopes, ids, topics=topics)
        if args.field:
            out["grid"] = {}
            for value in (float(v) for v in args.values.split(",")):
                ranking = replace(DEFAULT_RANKING, **{args.field: value})
                with Engine.open(home=Path(home), embedder=embedder, ranking=ranking) as variant:
                    m = evaluate(variant, scopes, ids, levels=("balanced",), topics=topics)["balanced"]
                inference = m["kinds"].get("inference", {})
                out["grid"][str(value)] = {
                    "required_recalled": m["required_recalled"],
                    "forbidden_recalled": m["forbidden_recalled"],
                    "inference_required": inference.get("required_recalled"),
                    "inference_forbidden": inference.get("forbidden_recalled"),
                }
                print(f"{args.field} {value}: {out['grid'][str(value)]}", file=sys.stderr)
        if args.sweep:
            out["sweep"] = {}
            for floor in (0.1, 0.13, 0.16, 0.2, 0.25):
                for relative in (0.0, 0.6, 0.7, 0.8, 0.9):
                    thresholds = {**DEFAULT_RANKING.thresholds, "balanced": floor}
                    relatives = {**DEFAULT_RANKING.relative_floor, "balanced": relative}
                    ranking = replace(DEFAULT_RANKING, thresholds=thresholds, relative_floor=relatives)
                    with Engine.open(home=Path(home), embedder=embedder, ranking=ranking) as variant:
                        m = evaluate(variant, scopes, ids, levels=("balanced",))["balanced"]
                    out["sweep"][f"{floor}/{relative}"] = {k: m[k] for k in ("required_recalled", "forbidden_recalled")}
                    print(
                        f"balanced {floor} relative {relative}: {out['sweep'][f'{floor}/{relative}']}", file=sys.stderr
                    )
    embedder.save()
    print(f"{out['scopes']} scopes, {out['queries']} queries, default budget (4 items, 150 tokens)\n")
    print("| threshold | kind | queries | required recalled | forbidden recalled | empty | kept per query |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for level, m in out["default"].items():
        totals = f"{m['required_recalled']:.1%} | {m['forbidden_recalled']:.1%}"
        print(f"| **{level}** | all | {out['queries']} | {totals} | | {m['kept_per_query']} |")
        for kind, k in sorted(m["kinds"].items()):
            req = "" if k["required_recalled"] is None else f"{k['required_recalled']:.1%}"
            forb = "" if k["forbidden_recalled"] is None else f"{k['forbidden_recalled']:.1%}"
            print(f"| {level} | {kind} | {k['queries']} | {req} | {forb} | {k['empty']:.1%} | {k['kept_per_query']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
