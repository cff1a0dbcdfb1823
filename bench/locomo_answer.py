"""recall(answer) on LoCoMo QA: the dataset's token F1 per category, and refusals on its adversarial questions.

Ingest as bench/locomo.py does (one scope per conversation, one memory per turn, dated), then ask every
question through ``Engine.answer``. Categories 1-4 are scored by LoCoMo's QA metric: token F1 between
the prediction and the gold answer after normalisation (lowercase, punctuation and articles removed,
Porter-free: plain tokens), "not in memory" scoring 0. Category 5 (adversarial: the answer is not in
the conversation) is scored by the share of questions answered "not in memory".

    .venv/bin/python bench/locomo_answer.py [--data PATH] [--conversations N] [--llm]

``--llm`` uses the model configured by MEMORYLAYER_LLM_* (an OpenAI-compatible endpoint); without it
the offline extractive answer is measured. The data set is never shipped; without it this exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from locomo import CATEGORIES, DEFAULT_DATA, ingest, load_conversation  # noqa: E402

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")


def normalise(text: str) -> list[str]:
    text = "".join(c for c in text.lower().replace(",", "") if c not in set(string.punctuation))
    return _ARTICLES.sub(" ", text).split()


def f1(prediction: str, gold: str) -> float:
    pred, truth = normalise(prediction), normalise(gold)
    common = sum((Counter(pred) & Counter(truth)).values())
    if not pred or not truth or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--llm", action="store_true", help="answer with the configured model")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"LoCoMo data not found at {args.data}; nothing to measure.")
        return 0
    from embed_cache import CachedEmbedder
    from memorylayer.engine import Engine

    samples = json.loads(args.data.read_text(encoding="utf-8"))[: args.conversations]
    qa_by_question = [{qa["question"]: qa for qa in sample["qa"]} for sample in samples]
    scores: dict[int, list[float]] = defaultdict(list)
    latencies: list[float] = []
    embedder = CachedEmbedder()
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(home=Path(home), embedder=embedder)
        try:
            for index, sample in enumerate(samples):
                scope = f"locomo-{index}"
                turns, questions = load_conversation(sample)
                ingest(engine, scope, turns)
                for q in questions:
                    qa = qa_by_question[index][q["question"]]
                    started = time.perf_counter()
                    answer = engine.answer(scope, q["question"], offline=not args.llm)
                    latencies.append(time.perf_counter() - started)
                    if q["category"] == 5:
                        scores[5].append(0.0 if answer.found else 1.0)
                    else:
                        scores[q["category"]].append(f1(answer.answer or "", str(qa.get("answer", ""))))
            embedder.save()
        finally:
            engine.close()
    latencies.sort()
    report = {
        "conversations": len(samples),
        "method": "llm" if args.llm else "extractive",
        "f1": {CATEGORIES[c]: round(sum(v) / len(v), 3) for c, v in sorted(scores.items()) if c != 5},
        "f1_categories_1_4": round(
            sum(sum(v) for c, v in scores.items() if c != 5) / max(1, sum(len(v) for c, v in scores.items() if c != 5)),
            3,
        ),
        "adversarial_refused": round(sum(scores[5]) / max(1, len(scores[5])), 3),
        "questions": {CATEGORIES[c]: len(v) for c, v in sorted(scores.items())},
        "answer_ms_median": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
