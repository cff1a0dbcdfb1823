"""recall(explore) against plain recall on LoCoMo, per category (protocol: ../shared/data/README.md).

The harness of bench/locomo.py (one scope per conversation, one memory per turn stamped with its
session's date), each turn also carrying its session as metadata ``conversation`` (what a chat agent
records). Each scope is woven once; every answerable question is then searched (top 10, the plain
figure) and explored under each budget of a small grid (seeds, decay, hops, and the weight of the
query's names as speakers). The budget is chosen leave-one-conversation-out: for each conversation, the
budget with the best mean R@10 on the multi-hop questions (category 1, what explore is for) of the
other nine, and that conversation's figures (every category) under it — never tuned on all ten at once.

    .venv/bin/python bench/explore.py [--data PATH] [--conversations N] [--out PATH]

The data set (CC BY-NC 4.0) is never shipped; without it the benchmark prints a note and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from locomo import CATEGORIES, DEFAULT_DATA, TOP_K, load_conversation, mean_metrics, score  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "explore.json"
#: (seeds, decay, max_hops, speaker_weight): seeds are the recall hits activation spreads from, chosen
#: among the best engine.links.EXPLORE_POOL by their score plus speaker_weight for the query's names.
GRID = [
    (seeds, decay, hops, speaker)
    for seeds, decay, hops in ((10, 0.5, 0), (10, 0.3, 1), (7, 0.8, 1), (5, 0.8, 2))
    for speaker in (0.0, 0.1, 0.2, 0.3)
]
#: explore is the operation for multi-hop questions: the budget is chosen on them.
OBJECTIVE = (1,)
PLAIN = "plain"


def ingest(engine, scope: str, turns: list[dict]) -> dict[str, list[str]]:
    from memorylayer.types import NewMemory

    items = [
        NewMemory(t["text"], created_at=t["created_at"], metadata={"conversation": str(t["created_at"])}) for t in turns
    ]
    result = engine.add_batch(scope, items, dedup=False)
    return {m.id: [t["dia_id"]] for m, t in zip(result.memories, turns, strict=True)}


def run(data_path: Path, conversations: int | None) -> dict:
    from embed_cache import CachedEmbedder
    from memorylayer.engine import Engine

    samples = json.loads(data_path.read_text(encoding="utf-8"))[:conversations]
    embedder = CachedEmbedder()
    rows: dict[object, list[tuple[int, int, dict]]] = defaultdict(list)
    weave_s, explore_ms, search_ms, link_counts = [], [], [], []
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(home=Path(home), embedder=embedder)
        try:
            for index, sample in enumerate(samples):
                scope = f"locomo-{index}"
                turns, questions = load_conversation(sample)
                id_to_dias = ingest(engine, scope, turns)
                started = time.perf_counter()
                woven = engine.weave(scope)
                weave_s.append(time.perf_counter() - started)
                link_counts.append(woven.links)
                for q in questions:
                    started = time.perf_counter()
                    hits = engine.search(q["question"], scope=scope, top_k=TOP_K)
                    search_ms.append((time.perf_counter() - started) * 1000)
                    ranked = [d for h in hits for d in id_to_dias.get(h.memory.id, [])]
                    rows[PLAIN].append((index, q["category"], score(ranked, q["evidence"])))
                    for seeds, decay, hops, speaker in GRID:
                        started = time.perf_counter()
                        found = engine.explore(
                            scope,
                            q["question"],
                            max_items=TOP_K,
                            seeds=seeds,
                            decay=decay,
                            max_hops=hops,
                            speaker_weight=speaker,
                        ).hits
                        explore_ms.append((time.perf_counter() - started) * 1000)
                        ranked = [d for h in found for d in id_to_dias.get(h.memory.id, [])]
                        rows[(seeds, decay, hops, speaker)].append((index, q["category"], score(ranked, q["evidence"])))
                print(f"conversation {index}: done", file=sys.stderr)
            embedder.save()
        finally:
            engine.close()
    folds = leave_one_out(rows, len(samples))
    return {
        "dataset": "LoCoMo locomo10.json",
        "conversations": len(samples),
        "top_k": TOP_K,
        "links_per_conversation_median": {
            kind: statistics.median(c.get(kind, 0) for c in link_counts) for kind in sorted(set().union(*link_counts))
        },
        "weave_s_median": round(statistics.median(weave_s), 3),
        "search_ms_p50": round(statistics.median(search_ms), 1),
        "explore_ms_p50": round(statistics.median(explore_ms), 1),
        "plain": per_category(rows[PLAIN]),
        "explore_held_out": per_category(folds["held_out"]),
        "chosen_per_fold": folds["chosen"],
        # In-sample R@10 per category of each budget (for reading the grid; the choice is the folds').
        "grid_all_conversations_r10": {
            str(budget): {c: m["recall@10"] for c, m in per_category(r).items()}
            for budget, r in rows.items()
            if budget != PLAIN
        },
    }


def per_category(rows: list[tuple[int, int, dict]]) -> dict:
    by: dict[int, list[dict]] = defaultdict(list)
    for _, category, metrics in rows:
        by[category].append(metrics)
    report = {f"{c} {CATEGORIES[c]}": mean_metrics(by[c]) for c in sorted(by)}
    report["1-4"] = mean_metrics([m for c in (1, 2, 3, 4) for m in by[c]])
    return report


def leave_one_out(rows: dict, conversations: int) -> dict:
    """Per conversation: the budget with the best R@10 on ``OBJECTIVE``'s categories of the other nine; its
    held-out rows (every category's)."""
    chosen, held_out = [], []
    budgets = [b for b in rows if b != PLAIN]
    for conv in range(conversations):

        def objective(budget: object, conv: int = conv) -> float:
            # With one conversation there is no other to choose on: the figures are then in-sample.
            picked = [
                m["recall@10"] for c, cat, m in rows[budget] if (c != conv or conversations == 1) and cat in OBJECTIVE
            ]
            return statistics.fmean(picked)

        best = max(budgets, key=objective)
        chosen.append(list(best))
        held_out += [r for r in rows[best] if r[0] == conv]
    return {"chosen": chosen, "held_out": held_out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo not found at {args.data}; nothing to measure.")
        return 0
    report = run(args.data, args.conversations)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
