"""recall(answer): an answer to a question with the memories it rests on (docs/operations.md).

The evidence is what recall would put in the context for the question (same pipeline, same
threshold). With an OpenAI-compatible model configured, the model answers from that evidence only and
cites memory ids; an answer citing nothing it was shown is a refusal. Offline, the answer is
extractive: the evidence sentence that best covers the question's terms, weighted by its memory's
relevance, gives the span that answers the question's kind (engine/spans.py: a date, a number, a
place, what the sentence adds to the question), and the sentence itself is the answer's context. It
is refused when the question names someone or something its memory never mentions and the memory is
only weakly relevant: LoCoMo's adversarial questions ask about one person what another said. No
evidence, or a model refusal, is "not in memory".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..types import SearchHit
from .spans import span, spoken
from .text import analyze, analyze_query

NOT_IN_MEMORY = "not in memory"
#: Memories an answer may rest on by default: recall's context for the question, at most this many.
EVIDENCE = 8
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
#: Capitalised words after a question's first: the names it asks about ("Caroline's" -> "caroline").
_NAMES = re.compile(r"\b([A-Z][a-z][\w-]*)(?:'s)?")
#: An extractive answer whose memory mentions none of the question's names is refused when its score
#: is below this. Chosen on LoCoMo by leave-one-conversation-out folds (bench/locomo_answer.py
#: --folds): each fold takes the largest value whose refusals cost the other nine conversations'
#: answerable questions at most 0.002 F1; the folds chose 0.5-0.65, this is their median.
UNNAMED_REFUSE_BELOW = 0.6

ANSWER_PROMPT = """You answer a question using ONLY the numbered memories given.
Reply with a JSON object {"answer": string or null, "citations": [memory ids]}.
- "answer": a short answer (a few words or one sentence) stated by the memories; null when they do not answer it.
- "citations": the ids of the memories the answer rests on (at least one when answer is not null).
Never use outside knowledge. If the memories do not contain the answer, reply {"answer": null, "citations": []}."""


@dataclass(frozen=True)
class Answer:
    """``answer`` is None when memory holds no answer (``found`` False); ``citations`` are memory ids;
    ``context`` is the evidence sentence an extractive answer was taken from (None from a model)."""

    question: str
    answer: str | None
    citations: list[str]
    evidence: list[SearchHit] = field(default_factory=list)
    method: Literal["llm", "extractive"] = "extractive"
    context: str | None = None

    @property
    def found(self) -> bool:
        return self.answer is not None


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def names(question: str) -> set[str]:
    """The names a question asks about, lower-cased: its capitalised words but the first."""
    return {m.group(1).lower() for m in _NAMES.finditer(question.strip()) if m.start() > 0}


def extractive(question: str, evidence: list[SearchHit], refuse_below: float = UNNAMED_REFUSE_BELOW) -> Answer:
    """The best supported span: from the sentence covering most of the question's terms, by its
    memory's score; refused when that memory names none of the question's names and scores under
    ``refuse_below`` (see :data:`UNNAMED_REFUSE_BELOW`)."""
    wanted = set(analyze_query(question))
    best: tuple[float, str, SearchHit] | None = None
    for hit in evidence:
        for sentence in sentences(hit.memory.value):
            terms = set(analyze(sentence))
            coverage = len(wanted & terms) / len(wanted) if wanted else 0.0
            score = hit.score * (0.5 + 0.5 * coverage)
            if best is None or score > best[0]:
                best = (score, sentence, hit)
    if best is None:
        return Answer(question, None, [], evidence)
    score, sentence, hit = best
    asked = names(question)
    mentioned = set(re.findall(r"[a-z][\w-]*", hit.memory.value.lower()))
    if asked and not asked & mentioned and score < refuse_below:
        return Answer(question, None, [], evidence)
    answer = span(question, sentence, hit.memory.created_at) or spoken(sentence)
    return Answer(question, answer, [hit.memory.id], evidence, context=sentence)


def ask_model(model: Any, question: str, evidence: list[SearchHit]) -> Answer:
    """The model's grounded answer; citations it was not shown are dropped, and an answer left citing
    nothing is a refusal.

    Raises:
        ExtractionFailed: the model could not be reached or answered something unusable.
    """
    if not evidence:
        return Answer(question, None, [], evidence, "llm")
    shown = {h.memory.id for h in evidence}
    memories = "\n".join(f"[{h.memory.id}] {h.memory.value}" for h in evidence)
    data = model.complete_json(ANSWER_PROMPT, json.dumps({"question": question, "memories": memories}))
    text = data.get("answer")
    cited = data.get("citations")
    citations = [c for c in cited if isinstance(c, str) and c in shown] if isinstance(cited, list) else []
    if not isinstance(text, str) or not text.strip() or not citations:
        return Answer(question, None, [], evidence, "llm")
    return Answer(question, text.strip(), list(dict.fromkeys(citations)), evidence, "llm")
