"""LoCoMo retrieval benchmark through the real engine (protocol: ../shared/data/README.md).

One scope per conversation; every turn is one memory "Speaker: text" (plus " [shares <caption>]" when
the turn carries an image caption) stamped with its session's date; every question with at least one
valid evidence id is searched in its conversation's scope. Reports Recall@5, Recall@10, NDCG@10
(binary gain) and MRR@10 per category, for categories 1-4 together and for category 5 (adversarial)
apart, plus ingest time per turn and query latency.

    .venv/bin/python bench/locomo.py [--data PATH] [--conversations N] [--out PATH]

The data set (CC BY-NC 4.0) is never shipped; without it the benchmark prints a note and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "locomo10.json"
DEFAULT_OUT = HERE / "results" / "locomo.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
TOP_K = 10


def session_ms(stamp: str) -> int:
    """'1:56 pm on 8 May, 2023' -> UTC milliseconds."""
    when = datetime.strptime(stamp.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def load_conversation(sample: dict) -> tuple[list[dict], list[dict]]:
    """The turns (text, dia_id, created_at) and the answerable questions of one LoCoMo sample."""
    conversation = sample["conversation"]
    turns = []
    n = 1
    while f"session_{n}" in conversation:
        created_at = session_ms(conversation[f"session_{n}_date_time"])
        for turn in conversation[f"session_{n}"]:
            text = turn["text"]
            if turn.get("blip_caption"):
                text += f" [shares {turn['blip_caption']}]"
            turns.append({"dia_id": turn["dia_id"], "text": f"{turn['speaker']}: {text}", "created_at": created_at})
        n += 1
    known = {t["dia_id"] for t in turns}
    questions = []
    for qa in sample["qa"]:
        evidence = {e for e in qa.get("evidence", []) if e in known}
        if evidence:
            questions.append({"question": qa["question"], "evidence": evidence, "category": qa["category"]})
    return turns, questions


def score(ranked: list[str], evidence: set[str]) -> dict[str, float]:
    """Recall@5/10, NDCG@10 (binary gain) and MRR@10 of one ranked list of dia_ids."""
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:TOP_K]) if d in evidence)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(evidence), TOP_K)))
    first = next((i for i, d in enumerate(ranked[:TOP_K]) if d in evidence), None)
    return {
        "recall@5": len(evidence & set(ranked[:5])) / len(evidence),
        "recall@10": len(evidence & set(ranked[:10])) / len(evidence),
        "ndcg@10": dcg / idcg,
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


def ingest(engine, scope: str, turns: list[dict]) -> tuple[dict[str, list[str]], int]:
    """Add every turn; map each stored memory id to the dia_ids whose text it holds.

    Returns the map and the number of turns left without a memory of identical text (merged by dedup).
    """
    result = engine.add_many(scope, [t["text"] for t in turns], created_at=[t["created_at"] for t in turns])
    by_text: dict[str, list[str]] = defaultdict(list)
    for turn in turns:
        by_text[turn["text"]].append(turn["dia_id"])
    id_to_dias = {m.id: by_text.get(m.value, []) for m in result.memories}
    stored = {d for dias in id_to_dias.values() for d in dias}
    return id_to_dias, sum(1 for t in turns if t["dia_id"] not in stored)


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {name: round(statistics.fmean(r[name] for r in rows), 4) for name in rows[0]} | {"n": len(rows)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def calibration(matched: list[list[tuple[float, bool]]], foreign: list[float], thresholds: dict[str, float]) -> dict:
    """How each recall threshold separates evidence from the rest.

    ``matched``: per question, (relevance, is evidence) of its top-10 hits in its own conversation;
    ``foreign``: the best relevance each question gets in another conversation, where nothing is
    relevant (a threshold should keep those out).
    """

    def quantiles(values: list[float], qs: tuple[float, ...]) -> dict[str, float]:
        ordered = sorted(values) or [0.0]
        return {f"p{int(q * 100)}": round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) for q in qs}

    evidence = [rel for hits in matched for rel, is_ev in hits if is_ev]
    report: dict = {
        "evidence_relevance": quantiles(evidence, (0.05, 0.1, 0.25, 0.5)),
        "foreign_best_relevance": quantiles(foreign, (0.5, 0.75, 0.9, 0.95)),
    }
    for name, floor in thresholds.items():
        kept = [[is_ev for rel, is_ev in hits if rel >= floor] for hits in matched]
        evidence_total = sum(is_ev for hits in matched for _, is_ev in hits)
        report[name] = {
            "threshold": floor,
            "kept_per_question": round(statistics.fmean(len(k) for k in kept), 2),
            "precision": round(sum(map(sum, kept)) / max(1, sum(map(len, kept))), 3),
            "evidence_kept": round(sum(map(sum, kept)) / max(1, evidence_total), 3),
            "foreign_questions_recalling_something": round(statistics.fmean(f >= floor for f in foreign), 3),
        }
    return report


def run(data_path: Path, conversations: int | None) -> dict:
    from memorylayer.engine import Engine

    samples = json.loads(data_path.read_text(encoding="utf-8"))[:conversations]
    per_category: dict[int, list[dict[str, float]]] = defaultdict(list)
    ingest_s, turns_total, unmapped, latencies = 0.0, 0, 0, []
    matched: list[list[tuple[float, bool]]] = []
    foreign: list[float] = []
    asked: list[tuple[int, str]] = []
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(home=Path(home))
        try:
            thresholds = dict(engine.ranking.thresholds)
            for index, sample in enumerate(samples):
                scope = f"locomo-{index}"
                turns, questions = load_conversation(sample)
                started = time.perf_counter()
                id_to_dias, lost = ingest(engine, scope, turns)
                ingest_s += time.perf_counter() - started
                turns_total += len(turns)
                unmapped += lost
                for q in questions:
                    started = time.perf_counter()
                    hits = engine.search(q["question"], scope=scope, top_k=TOP_K)
                    latencies.append((time.perf_counter() - started) * 1000)
                    ranked = [d for hit in hits for d in id_to_dias.get(hit.memory.id, [])]
                    per_category[q["category"]].append(score(ranked, q["evidence"]))
                    if q["category"] in (1, 2, 3, 4):
                        matched.append(
                            [
                                (h.signals["relevance"], bool(set(id_to_dias.get(h.memory.id, [])) & q["evidence"]))
                                for h in hits
                            ]
                        )
                        asked.append((index, q["question"]))
                print(
                    f"conversation {index + 1}/{len(samples)}: {len(turns)} turns, {len(questions)} questions",
                    file=sys.stderr,
                )
            if len(samples) > 1:
                for index, question in asked:
                    other = f"locomo-{(index + 1) % len(samples)}"
                    hits = engine.search(question, scope=other, top_k=1)
                    foreign.append(hits[0].signals["relevance"] if hits else 0.0)
        finally:
            engine.close()
    results = {str(c): mean_metrics(per_category[c]) for c in sorted(per_category)}
    results["1-4"] = mean_metrics([r for c in (1, 2, 3, 4) for r in per_category[c]])
    return {
        "dataset": "LoCoMo locomo10.json",
        "conversations": len(samples),
        "turns": turns_total,
        "turns_merged_by_dedup": unmapped,
        "top_k": TOP_K,
        "ingest_ms_per_turn": round(ingest_s * 1000 / max(turns_total, 1), 2),
        "query_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else None,
        "query_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
        "results": results,
        "thresholds": calibration(matched, foreign, thresholds),
    }


def markdown(report: dict) -> str:
    lines = [
        "| category | n | R@5 | R@10 | NDCG@10 | MRR |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    order = [c for c in ("1", "2", "3", "4") if c in report["results"]] + ["1-4"]
    order += ["5"] if "5" in report["results"] else []
    for cat in order:
        m = report["results"][cat]
        if not m:
            continue
        name = "**1-4**" if cat == "1-4" else f"{cat} {CATEGORIES[int(cat)]}"
        lines.append(
            f"| {name} | {m['n']} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} | {m['mrr']:.3f} |"
        )
    lines += [
        "",
        "| threshold | relevance ≥ | kept of top 10 | precision | evidence kept | foreign questions recalling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in report["thresholds"].items():
        if "threshold" not in t:
            continue
        lines.append(
            f"| {name} | {t['threshold']} | {t['kept_per_question']} | {t['precision']} | {t['evidence_kept']} | "
            f"{t['foreign_questions_recalling_something']} |"
        )
    lines.append("")
    lines.append(f"evidence relevance quantiles: {report['thresholds']['evidence_relevance']}")
    lines.append(f"best foreign relevance quantiles: {report['thresholds']['foreign_best_relevance']}")
    lines.append("")
    lines.append(
        f"{report['turns']} turns, ingest {report['ingest_ms_per_turn']} ms/turn; "
        f"query p50 {report['query_ms_p50']} ms, p95 {report['query_ms_p95']} ms; "
        f"turns merged by dedup: {report['turns_merged_by_dedup']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path to locomo10.json")
    parser.add_argument("--conversations", type=int, default=None, help="only the first N conversations")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON report")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"LoCoMo data not found at {args.data}; skipping (pass --data PATH).")
        return 0
    report = run(args.data, args.conversations)
    print(markdown(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
