"""LoCoMo retrieval benchmark through the real engine (protocol: ../shared/data/README.md).

One scope per conversation; every turn is one memory "Speaker: text" (plus " [shares <caption>]" when
the turn carries an image caption) stamped with its session's date; every question with at least one
valid evidence id is searched in its conversation's scope. Reports Recall@5, Recall@10, NDCG@10
(binary gain) and MRR@10 per category, for categories 1-4 together and for category 5 (adversarial)
apart, plus ingest time per turn and query latency.

    .venv/bin/python bench/locomo.py [--data PATH] [--conversations N] [--out PATH] [--lifts 0,0.85,…]

Embeddings are cached (bench/embed_cache.py), so a rerun ranks without embedding again.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))

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
            "foreign_questions_recalling_something": (
                round(statistics.fmean(f >= floor for f in foreign), 3) if foreign else None
            ),
        }
    return report


def run(
    data_path: Path, conversations: int | None, lifts: list[float] | None = None, field: str = "neighbour_lift"
) -> dict:
    """Ingest once, then search every question under each ranking variant and recall with the default.

    ``lifts``: values of the ``RankingConfig`` field ``field`` (the neighbour lift unless told) to
    compare; with more than one, each conversation's figures are
    also computed with the value chosen on the other conversations alone (leave-one-conversation-out).
    """
    from dataclasses import replace

    from embed_cache import CachedEmbedder
    from memorylayer.engine import Engine
    from memorylayer.engine.ranking import DEFAULT_RANKING

    samples = json.loads(data_path.read_text(encoding="utf-8"))[:conversations]
    lifts = lifts or [getattr(DEFAULT_RANKING, field)]
    embedder = CachedEmbedder()
    convs: list[tuple[str, dict[str, list[str]], list[dict]]] = []
    ingest_s, turns_total, unmapped = 0.0, 0, 0
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(home=Path(home), embedder=embedder)
        try:
            for index, sample in enumerate(samples):
                scope = f"locomo-{index}"
                turns, questions = load_conversation(sample)
                started = time.perf_counter()
                id_to_dias, lost = ingest(engine, scope, turns)
                ingest_s += time.perf_counter() - started
                turns_total += len(turns)
                unmapped += lost
                convs.append((scope, id_to_dias, questions))
            embedder.save()
            by_lift = {}
            for lift in lifts:
                variant = Engine.open(
                    home=Path(home), embedder=embedder, ranking=replace(DEFAULT_RANKING, **{field: lift})
                )
                try:
                    by_lift[lift] = search_all(variant, convs)
                finally:
                    variant.close()
                print(f"{field} {lift}: done", file=sys.stderr)
            embedder.save()
            shipped = getattr(DEFAULT_RANKING, field)
            default = shipped if shipped in by_lift else lifts[0]
            recall_report = recall_all(engine, convs)
        finally:
            engine.close()
    rows, latencies, matched = by_lift[default]
    per_category: dict[int, list[dict[str, float]]] = defaultdict(list)
    for _conv, category, metrics in rows:
        per_category[category].append(metrics)
    results = {str(c): mean_metrics(per_category[c]) for c in sorted(per_category)}
    results["1-4"] = mean_metrics([r for c in (1, 2, 3, 4) for r in per_category[c]])
    report = {
        "dataset": "LoCoMo locomo10.json",
        "conversations": len(samples),
        "turns": turns_total,
        "turns_merged_by_dedup": unmapped,
        "top_k": TOP_K,
        "grid_field": field,
        field: default,
        "ingest_ms_per_turn": round(ingest_s * 1000 / max(turns_total, 1), 2),
        "query_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else None,
        "query_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
        "results": results,
        "recall": recall_report,
        "thresholds": calibration(matched, [], dict(DEFAULT_RANKING.thresholds)),
    }
    if len(lifts) > 1:
        report["lift_grid"] = {str(lift): overall(by_lift[lift][0]) for lift in lifts}
        report["lift_grid_temporal"] = {str(lift): overall(by_lift[lift][0], categories=(2,)) for lift in lifts}
        report["leave_one_conversation_out"] = leave_one_out(by_lift, len(samples))
    return report


def search_all(engine, convs) -> tuple[list[tuple[int, int, dict]], list[float], list]:
    """(conversation, category, metrics) of every question searched in its own scope, latencies, top-10 hits."""
    rows, latencies, matched = [], [], []
    for index, (scope, id_to_dias, questions) in enumerate(convs):
        for q in questions:
            started = time.perf_counter()
            hits = engine.search(q["question"], scope=scope, top_k=TOP_K)
            latencies.append((time.perf_counter() - started) * 1000)
            ranked = [d for hit in hits for d in id_to_dias.get(hit.memory.id, [])]
            rows.append((index, q["category"], score(ranked, q["evidence"])))
            if q["category"] in (1, 2, 3, 4):
                matched.append(
                    [(h.signals["relevance"], bool(set(id_to_dias.get(h.memory.id, [])) & q["evidence"])) for h in hits]
                )
    return rows, latencies, matched


def recall_all(engine, convs) -> dict:
    """Recall with the defaults (4 items, 150 tokens): evidence in the context of the right scope, and
    how often a question asked in the next conversation's scope recalls anything, per threshold."""
    evidence_in_context, foreign = [], {name: [] for name in ("strict", "balanced", "permissive")}
    for index, (scope, id_to_dias, questions) in enumerate(convs):
        other = convs[(index + 1) % len(convs)][0]
        for q in questions:
            if q["category"] not in (1, 2, 3, 4):
                continue
            result = engine.recall(scope, q["question"], record_access=False)
            kept = {d for m in result.memories for d in id_to_dias.get(m.id, [])}
            evidence_in_context.append(bool(kept & q["evidence"]))
            if len(convs) > 1:
                for name, found in foreign.items():
                    found.append(
                        bool(engine.recall(other, q["question"], threshold=name, record_access=False).memories)
                    )
    return {
        "questions": len(evidence_in_context),
        "evidence_in_default_context": round(statistics.fmean(evidence_in_context), 3),
        "foreign_recalling_something": {n: round(statistics.fmean(f), 3) for n, f in foreign.items() if f},
    }


def overall(
    rows: list[tuple[int, int, dict]], exclude: int | None = None, only: int | None = None, categories=(1, 2, 3, 4)
) -> dict:
    picked = [m for conv, cat, m in rows if cat in categories and conv != exclude and (only is None or conv == only)]
    return mean_metrics(picked)


def leave_one_out(by_lift: dict[float, tuple], conversations: int) -> dict:
    """For each conversation, the lift that ranks the other nine best (mean of R@5 and R@10), and the
    held-out conversation's figures under it; the pooled held-out figures."""
    chosen, held_out = [], []
    for conv in range(conversations):

        def objective(lift: float, conv: int = conv) -> float:
            m = overall(by_lift[lift][0], exclude=conv)
            return m["recall@5"] + m["recall@10"]

        best = max(by_lift, key=objective)
        chosen.append(best)
        held_out += [(cat, m) for c, cat, m in by_lift[best][0] if c == conv and cat in (1, 2, 3, 4)]
    return {
        "chosen_per_fold": chosen,
        "held_out": mean_metrics([m for _, m in held_out]),
        # The temporal category (2) under the value each fold chose on the other conversations.
        "held_out_temporal": mean_metrics([m for cat, m in held_out if cat == 2]),
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
    recall = report["recall"]
    lines += [
        "",
        f"recall, default budget: evidence in the context for {recall['evidence_in_default_context']:.1%} "
        f"of {recall['questions']} questions; asked in another conversation's scope, something is recalled "
        + ", ".join(f"{n} {v:.1%}" for n, v in recall["foreign_recalling_something"].items()),
        f"evidence relevance quantiles: {report['thresholds']['evidence_relevance']}",
        "",
    ]
    if "lift_grid" in report:
        lines += [
            f"| {report['grid_field']} | R@5 | R@10 | NDCG@10 | temporal R@10 |",
            "|---:|---:|---:|---:|---:|",
        ]
        for lift, m in report["lift_grid"].items():
            t = report["lift_grid_temporal"][lift]
            lines.append(
                f"| {lift} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} | {t['recall@10']:.3f} |"
            )
        loo = report["leave_one_conversation_out"]
        m, t = loo["held_out"], loo["held_out_temporal"]
        lines += [
            "",
            f"leave-one-conversation-out: chosen per fold {loo['chosen_per_fold']}; held-out R@5 "
            f"{m['recall@5']:.3f}, R@10 {m['recall@10']:.3f}, NDCG@10 {m['ndcg@10']:.3f}; "
            f"temporal held-out R@10 {t['recall@10']:.3f}",
            "",
        ]
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
    parser.add_argument(
        "--lifts", default=None, help="comma-separated values of --field to compare (leave-one-conversation-out)"
    )
    parser.add_argument("--field", default="neighbour_lift", help="the RankingConfig field --lifts sets")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"LoCoMo data not found at {args.data}; skipping (pass --data PATH).")
        return 0
    lifts = [float(x) for x in args.lifts.split(",")] if args.lifts else None
    report = run(args.data, args.conversations, lifts, args.field)
    print(markdown(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
