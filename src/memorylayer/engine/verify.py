"""verify: a statement checked against memory — supported, contradicted, or not enough information.

Candidates are what recall finds for the statement (permissive threshold, access history untouched).
Offline, each candidate sentence is compared with the statement by explicit checks, in this order:

* **key**: a keyed fact whose key the statement names ("my timezone is UTC+2" and ``timezone`` =
  "UTC+1"): the statement holding the key's value supports it, any other value contradicts it;
* **slot**: a fact filling the same slot (engine/slots.py: residence, employer, role, diet, name,
  partner) with a different value contradicts; the same value supports;
* **negation**, **number**, **date**: when the two are about the same thing (most of the statement's
  other words are in the sentence), one negated and the other not ("not", "never", "no longer", …),
  a different quantity ("two dogs" against "three dogs"), or dates that cannot both hold ("May 2021"
  against "March 2021") contradict;
* **overlap**: no conflict and the sentence covers most of the statement's words: supported.

Keyed facts and slots are authoritative (the store keeps one live value for them), so their verdict
wins; otherwise the judgement with the highest word coverage does, a contradiction winning a tie.
With an OpenAI-compatible model configured, the model judges the same candidates instead and cites
their ids; a supported or contradicted verdict citing nothing it was shown is not enough information.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import ExtractionFailed
from ..types import MemoryRecord, SearchHit
from .answer import sentences
from .slots import slot_of
from .text import analyze
from .when import time_window

Verdict = Literal["supported", "contradicted", "not_enough_information"]
Check = Literal["key", "slot", "negation", "number", "date", "overlap", "llm"]
VERDICTS: tuple[Verdict, ...] = ("supported", "contradicted", "not_enough_information")
#: Candidate memories a verification reads by default.
CANDIDATES = 8
#: Share of the statement's words a sentence must hold to be about the same thing (conflict checks) ...
SAME_THING = 0.6
#: ... and to support it.
SUPPORTS = 0.75

_NEGATION = re.compile(
    r"\b(?:not|never|no longer|no|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b", re.IGNORECASE
)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "hundred": "100",
}  # fmt: skip
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(_NUMBER_WORDS)})\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MONTH_WORDS = frozenset(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))

VERIFY_PROMPT = """You check a statement against the numbered memories given, and nothing else.
Reply with a JSON object {"verdict": ..., "citations": [memory ids], "reason": string}.
- "verdict": "supported" when the memories state it, "contradicted" when they state something that cannot
  be true at the same time (another value, number or date, or its negation), "not_enough_information" otherwise.
- "citations": the ids of the memories the verdict rests on (none for not_enough_information).
- "reason": one short sentence naming the fact, number, date or negation that decides it.
Never use outside knowledge."""


@dataclass(frozen=True)
class Evidence:
    """A memory a verdict rests on, the check that decided (``check``) and why, in words."""

    memory: MemoryRecord
    check: Check
    reason: str


@dataclass(frozen=True)
class Verification:
    statement: str
    verdict: Verdict
    evidence: list[Evidence] = field(default_factory=list)
    method: Literal["rules", "llm"] = "rules"


@dataclass(frozen=True)
class _Judgement:
    verdict: Verdict
    weight: float
    evidence: Evidence


def _numbers_as_digits(text: str) -> str:
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(0).lower()], text)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(_numbers_as_digits(text))}


def _words(text: str) -> set[str]:
    """The statement's content words, numbers and month names left out (they are checked apart)."""
    return {t for t in analyze(_numbers_as_digits(text)) if not t.isdigit() and t[:3] not in _MONTH_WORDS}


def _negated(text: str) -> bool:
    return _NEGATION.search(text) is not None


def _window(text: str) -> tuple[int | None, int | None] | None:
    # Absolute dates only: a relative phrase ("last May") has no fixed meaning across the two texts.
    found = time_window(text, int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000))
    return (
        None
        if found is None or re.search(r"\bago\b|\blast\b|yesterday", found.phrase, re.I)
        else (found.start, found.end)
    )


def _disjoint(a: tuple[int | None, int | None], b: tuple[int | None, int | None]) -> bool:
    (a0, a1), (b0, b1) = a, b
    return (a1 is not None and b0 is not None and a1 <= b0) or (b1 is not None and a0 is not None and b1 <= a0)


def _as_user(statement: str) -> str:
    """ "I live in Berlin." as the extractor writes facts ("User lives in Berlin."), so slots match it."""
    match = re.match(r"^\s*I\s+(am|was|have|'m)?\s*(\w+)", statement)
    if match is None:
        return statement
    verb = {"am": "is", "'m": "is", "was": "was", "have": "has"}.get((match.group(1) or "").lower())
    head = match.group(2)
    if verb is None and not head.endswith("s"):
        head += "es" if head.endswith(("sh", "ch", "o")) else "s"
    rest = statement[match.end() :]
    return f"User {verb + ' ' if verb else ''}{head}{rest}"


_WORD = re.compile(r"[a-z0-9]+")


def named_keys(statement: str) -> list[str]:
    """Keys the statement may name: its words, and pairs of them joined as keys are ("home_city")."""
    words = _WORD.findall(statement.lower())
    pairs = [sep.join(p) for p in zip(words, words[1:], strict=False) for sep in ("_", "-", ".")]
    return list(dict.fromkeys([*words, *pairs]))


def _key_judgement(statement: str, memory: MemoryRecord) -> _Judgement | None:
    key = memory.key
    if key is None or memory.metadata.get("document") is not None:
        return None
    # Whole words, not stems: "named" does not name the key "name".
    key_words = set(_WORD.findall(key.lower()))
    if not key_words or not key_words <= set(_WORD.findall(statement.lower())):
        return None
    holds = memory.value.strip().lower() in statement.lower() or (
        bool(_words(memory.value) | _numbers(memory.value))
        and _words(memory.value) <= _words(statement)
        and _numbers(memory.value) <= _numbers(statement)
    )
    if holds:
        return _Judgement("supported", 2.0, Evidence(memory, "key", f"{key} is {memory.value!r}, as stated"))
    return _Judgement("contradicted", 2.0, Evidence(memory, "key", f"{key} is {memory.value!r}, not what is stated"))


def _slot_judgement(statement: str, memory: MemoryRecord) -> _Judgement | None:
    slot = slot_of(_as_user(statement))
    held = memory.metadata.get("slot") or slot_of(memory.value)
    if slot is None or slot != held or _negated(statement) or _negated(memory.value):
        return None
    said, stored = _words(_as_user(statement)) - {"user"}, _words(memory.value) - {"user"}
    if stored <= said or said <= stored:
        return _Judgement("supported", 2.0, Evidence(memory, "slot", f"{slot}: {memory.value!r}, as stated"))
    return _Judgement("contradicted", 2.0, Evidence(memory, "slot", f"{slot} holds {memory.value!r} now"))


def _sentence_judgement(statement: str, memory: MemoryRecord, sentence: str) -> _Judgement | None:
    said = _words(statement)
    if not said:
        return None
    coverage = len(said & _words(sentence)) / len(said)
    if coverage < SAME_THING:
        return None

    def conflict(check: Check, reason: str) -> _Judgement:
        return _Judgement("contradicted", coverage, Evidence(memory, check, reason))

    if _negated(statement) != _negated(sentence):
        which = "the statement is negated, the memory is not" if _negated(statement) else "the memory negates it"
        return conflict("negation", f"{which}: {sentence!r}")
    ours, theirs = _window(statement), _window(sentence)
    if ours is not None and theirs is not None and _disjoint(ours, theirs):
        return conflict("date", f"another date: {sentence!r}")
    numbers, stored = _numbers(statement), _numbers(sentence)
    if numbers and stored and not numbers & stored:
        return conflict("number", f"{', '.join(sorted(stored))} rather than {', '.join(sorted(numbers))}: {sentence!r}")
    if coverage >= SUPPORTS and (not numbers or numbers <= stored):
        return _Judgement("supported", coverage, Evidence(memory, "overlap", f"stated in {sentence!r}"))
    return None


def judge(statement: str, hits: list[SearchHit]) -> Verification:
    """The offline verdict over the candidate memories (see the module docstring)."""
    found: list[_Judgement] = []
    for hit in hits:
        memory = hit.memory
        authoritative = _key_judgement(statement, memory) or _slot_judgement(statement, memory)
        if authoritative is not None:
            found.append(authoritative)
            continue
        best = None
        for sentence in sentences(memory.value):
            j = _sentence_judgement(statement, memory, sentence)
            if j is not None and (best is None or (j.weight, j.verdict == "contradicted") > (best.weight, False)):
                best = j
        if best is not None:
            found.append(best)
    if not found:
        return Verification(statement, "not_enough_information")
    top = max(found, key=lambda j: (j.weight, j.verdict == "contradicted"))
    evidence = [j.evidence for j in found if j.verdict == top.verdict and j.weight >= min(top.weight, SUPPORTS)]
    return Verification(statement, top.verdict, evidence)


def ask_model(model: Any, statement: str, hits: list[SearchHit]) -> Verification:
    """The model's verdict over the candidates; citations it was not shown are dropped.

    Raises:
        ExtractionFailed: the model could not be reached, or answered no known verdict.
    """
    if not hits:
        return Verification(statement, "not_enough_information", method="llm")
    shown = {h.memory.id: h.memory for h in hits}
    memories = "\n".join(f"[{h.memory.id}] {h.memory.value}" for h in hits)
    data = model.complete_json(VERIFY_PROMPT, json.dumps({"statement": statement, "memories": memories}))
    verdict, cited, reason = data.get("verdict"), data.get("citations"), data.get("reason")
    if verdict not in VERDICTS:
        raise ExtractionFailed(f"the model answered no verdict (expected one of: {', '.join(VERDICTS)})")
    ids = [c for c in cited if isinstance(c, str) and c in shown] if isinstance(cited, list) else []
    ids = list(dict.fromkeys(ids))
    if verdict == "not_enough_information" or not ids:
        return Verification(statement, "not_enough_information", method="llm")
    why = reason.strip() if isinstance(reason, str) and reason.strip() else verdict
    return Verification(statement, verdict, [Evidence(shown[i], "llm", why) for i in ids], "llm")
