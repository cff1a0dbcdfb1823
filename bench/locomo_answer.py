"""recall(answer) on LoCoMo QA: the dataset's token F1 per category, and refusals on its adversarial questions.

Ingest as bench/locomo.py does (one scope per conversation, one memory per turn, dated), then ask every
question through ``Engine.answer``. Categories 1-4 are scored by LoCoMo's QA metric: token F1 between
the prediction and the gold answer after normalisation (lowercase, punctuation and articles removed,
Porter-free: plain tokens), "not in memory" scoring 0. Category 5 (adversarial: the answer is not in
the conversation) is scored by the share of questions answered "not in memory".

    .venv/bin/python bench/locomo_answer.py [--data PATH] [--conversations N] [--folds] [--llm [--standin]]

``--folds`` also tunes the offline refusal (``UNNAMED_REFUSE_BELOW`` in engine/answer.py) by
leave-one-conversation-out: for each conversation, the largest cut-off whose refusals cost the other
conversations' answerable questions at most ``MAX_F1_COST`` of F1 is chosen on them and scored on it.

``--llm`` uses the model configured by MEMORYLAYER_LLM_* (an OpenAI-compatible endpoint); without it
the offline extractive answer is measured. ``--llm --standin`` starts tests/standins/openai_chat.py, a
STAND-IN that speaks the chat-completions protocol but is no model: it cites the evidence memory
sharing most words with the question and answers with that memory's shortest such sentence, or
refuses when no memory shares a word. It measures the path (prompt, JSON, citations, refusals),
not a model's quality. The data set is never shipped; without it this exits 0.
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
#: Refusal cut-offs tried by --folds, and the F1 the refusals may cost the training conversations.
CUTOFFS = (0.0, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 1.01)
MAX_F1_COST = 0.002
_WORDS = re.compile(r"[a-z0-9]+")
_STANDIN_STOP = frozenset(
    """what when where which who whom whose how did does do is are was were the a an of to in on for and or
    with her his their they she he it that this from at by has have had""".split()
)


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


def standin_answer(_system: str, user: str) -> str:
    """The stand-in's scripted reply to an answer request (see the module docstring)."""
    request = json.loads(user)
    asked = set(_WORDS.findall(request["question"].lower())) - _STANDIN_STOP
    best: tuple[int, int, str, str] | None = None  # (shared words, -length, sentence, id)
    for line in request["memories"].splitlines():
        memory_id, _, text = line.partition("] ")
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            shared = len(asked & set(_WORDS.findall(sentence.lower())))
            if shared and (best is None or (shared, -len(sentence)) > best[:2]):
                best = (shared, -len(sentence), sentence, memory_id.lstrip("["))
    if best is None:
        return json.dumps({"answer": None, "citations": []})
    return json.dumps({"answer": best[2], "citations": [best[3]]})


def folds(rows: list[tuple[int, int, str, str, list]]) -> dict:
    """Leave-one-conversation-out choice of the refusal cut-off; ``rows``: (conversation, category,
    question, gold answer, evidence) per question."""
    from memorylayer.engine.answer import extractive

    conversations = sorted({r[0] for r in rows})
    # scores[cutoff][conversation] = ([F1 of answerable questions], [adversarial refused])
    scores: dict[float, dict[int, tuple[list[float], list[float]]]] = {}
    for cutoff in CUTOFFS:
        by_conv: dict[int, tuple[list[float], list[float]]] = {c: ([], []) for c in conversations}
        for conv, category, question, gold, evidence in rows:
            answer = extractive(question, evidence, cutoff)
            if category == 5:
                by_conv[conv][1].append(0.0 if answer.found else 1.0)
            else:
                by_conv[conv][0].append(f1(answer.answer or "", gold))
        scores[cutoff] = by_conv

    def pooled(cutoff: float, convs: list[int], part: int) -> float:
        values = [x for c in convs for x in scores[cutoff][c][part]]
        return sum(values) / max(1, len(values))

    chosen, held_f1, held_refused = [], [], []
    for held in conversations:
        train = [c for c in conversations if c != held]
        floor = pooled(0.0, train, 0) - MAX_F1_COST
        cutoff = max(c for c in CUTOFFS if pooled(c, train, 0) >= floor)
        chosen.append(cutoff)
        held_f1.extend(scores[cutoff][held][0])
        held_refused.extend(scores[cutoff][held][1])
    return {
        "max_f1_cost_on_training_folds": MAX_F1_COST,
        "chosen_per_fold": chosen,
        "held_out_f1_categories_1_4": round(sum(held_f1) / max(1, len(held_f1)), 4),
        "held_out_adversarial_refused": round(sum(held_refused) / max(1, len(held_refused)), 3),
        "all_conversations_by_cutoff": {
            str(c): {"f1_1_4": round(pooled(c, conversations, 0), 4), "refused": round(pooled(c, conversations, 1), 3)}
            for c in CUTOFFS
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--llm", action="store_true", help="answer with the configured model")
    parser.add_argument("--standin", action="store_true", help="with --llm: the chat-completions stand-in")
    parser.add_argument("--folds", action="store_true", help="tune the offline refusal by leave-one-out")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"LoCoMo data not found at {args.data}; nothing to measure.")
        return 0
    from contextlib import ExitStack

    from embed_cache import CachedEmbedder
    from memorylayer.engine import Engine
    from memorylayer.engine.extraction import OpenAIExtractor

    samples = json.loads(args.data.read_text(encoding="utf-8"))[: args.conversations]
    qa_by_question = [{qa["question"]: qa for qa in sample["qa"]} for sample in samples]
    scores: dict[int, list[float]] = defaultdict(list)
    latencies: list[float] = []
    embedder = CachedEmbedder()
    rows: list[tuple[int, int, str, str, list]] = []
    with ExitStack() as stack:
        home = stack.enter_context(tempfile.TemporaryDirectory())
        extractor, server = None, None
        if args.llm and args.standin:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "standins"))
            from openai_chat import ChatCompletionsStandIn

            server = stack.enter_context(ChatCompletionsStandIn(api_key="sk-bench", model="standin-answerer"))
            server.reply_with(standin_answer)
            extractor = OpenAIExtractor(server.base_url, "standin-answerer", api_key="sk-bench")
        engine = Engine.open(home=Path(home), embedder=embedder, extractor=extractor)
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
                    gold = str(qa.get("answer", ""))
                    rows.append((index, q["category"], q["question"], gold, answer.evidence))
                    if q["category"] == 5:
                        scores[5].append(0.0 if answer.found else 1.0)
                    else:
                        scores[q["category"]].append(f1(answer.answer or "", gold))
            embedder.save()
        finally:
            engine.close()
    latencies.sort()
    report = {
        "conversations": len(samples),
        "method": ("llm: chat-completions STAND-IN (the path, not a model)" if args.standin else "llm")
        if args.llm
        else "extractive",
        "f1": {CATEGORIES[c]: round(sum(v) / len(v), 3) for c, v in sorted(scores.items()) if c != 5},
        "f1_categories_1_4": round(
            sum(sum(v) for c, v in scores.items() if c != 5) / max(1, sum(len(v) for c, v in scores.items() if c != 5)),
            3,
        ),
        "adversarial_refused": round(sum(scores[5]) / max(1, len(scores[5])), 3),
        "questions": {CATEGORIES[c]: len(v) for c, v in sorted(scores.items())},
        "answer_ms_median": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
    }
    if server is not None:
        report["standin_requests"] = len(server.requests)
    if args.folds and not args.llm:
        report["folds"] = folds(rows)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
