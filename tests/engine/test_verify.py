"""verify: statements checked against real memories offline (keys, slots, numbers, dates, negation,
overlap) and by an LLM judge behind the OpenAI-compatible stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.errors import ExtractionFailed, InvalidRequest
from memorylayer.types import NewMemory
from standins.openai_chat import ChatCompletionsStandIn

FACTS = [
    NewMemory("Caroline moved to Boston in May 2021. She works as a nurse at the city hospital."),
    NewMemory("Melanie has two dogs named Rex and Bo."),
    NewMemory("Jon never eats meat."),
    NewMemory("UTC+1", key="timezone"),
]


@pytest.fixture
def life(engine: Engine) -> dict[str, str]:
    """The facts in scope ``life`` (and an extracted residence), by their first word."""
    result = engine.add_batch("life", FACTS)
    engine.add("life", "I live in Berlin.")
    ids = {m.value.split()[0]: m.id for m in result.memories}
    ids["User"] = next(m.id for m in engine.list(scope="life").memories if m.value == "User lives in Berlin.")
    return ids


@pytest.mark.parametrize(
    ("statement", "verdict", "check", "about"),
    [
        ("Caroline moved to Boston.", "supported", "overlap", "Caroline"),
        ("Melanie has 2 dogs.", "supported", "overlap", "Melanie"),
        ("Jon never eats meat", "supported", "overlap", "Jon"),
        ("My timezone is UTC+1", "supported", "key", "UTC+1"),
        ("I live in Berlin", "supported", "slot", "User"),
        ("Melanie has three dogs.", "contradicted", "number", "Melanie"),
        ("Caroline moved to Boston in March 2021.", "contradicted", "date", "Caroline"),
        ("Jon eats meat.", "contradicted", "negation", "Jon"),
        ("Caroline did not move to Boston.", "contradicted", "negation", "Caroline"),
        ("My timezone is UTC+2", "contradicted", "key", "UTC+1"),
        ("I live in Paris", "contradicted", "slot", "User"),
    ],
)
def test_offline_checks_decide_with_the_memory_and_the_reason(
    engine: Engine, life: dict[str, str], statement: str, verdict: str, check: str, about: str
) -> None:
    result = engine.verify("life", statement, offline=True)
    assert (result.verdict, result.method) == (verdict, "rules")
    assert result.evidence[0].check == check and result.evidence[0].memory.id == life[about]
    assert result.evidence[0].reason


def test_what_memory_does_not_hold_is_not_enough_information(engine: Engine, life: dict[str, str]) -> None:
    for statement in ("Bob drives a red car.", "Caroline has a sister in Denver."):
        result = engine.verify("life", statement)
        assert result.verdict == "not_enough_information" and result.evidence == []
    assert engine.verify("nowhere", "Caroline moved to Boston.").verdict == "not_enough_information"


def test_a_check_is_not_a_use_and_bad_input_is_refused(engine: Engine, life: dict[str, str]) -> None:
    before = engine.get(life["Caroline"]).last_recalled_at
    engine.verify("life", "Caroline moved to Boston.")
    assert engine.get(life["Caroline"]).last_recalled_at == before
    for statement in ("   ", "x" * 2_001, 42):
        with pytest.raises(InvalidRequest) as refused:
            engine.verify("life", statement)  # type: ignore[arg-type]
        assert "statement" in refused.value.message
    with pytest.raises(InvalidRequest):
        engine.verify("life", "Caroline moved.", max_items=0)


@pytest.fixture
def judge(memorylayer_home: Path) -> Iterator[tuple[Engine, ChatCompletionsStandIn]]:
    with ChatCompletionsStandIn(api_key="sk-judge", model="judge") as server:
        settings = Settings.load(
            home=memorylayer_home, llm_base_url=server.base_url, llm_model="judge", llm_api_key="sk-judge"
        )
        engine = Engine.open(settings=settings)
        yield engine, server
        engine.close()


def test_a_configured_model_judges_and_cites_the_memories_it_was_shown(
    judge: tuple[Engine, ChatCompletionsStandIn],
) -> None:
    engine, server = judge
    stored = engine.add_batch("life", FACTS[:2]).memories
    reply = {"verdict": "contradicted", "citations": [stored[1].id, "made-up"], "reason": "two dogs, not three"}
    server.reply_content(json.dumps(reply))
    result = engine.verify("life", "Melanie has three dogs.")
    assert (result.verdict, result.method) == ("contradicted", "llm")
    assert [(e.memory.id, e.check, e.reason) for e in result.evidence] == [(stored[1].id, "llm", "two dogs, not three")]
    sent = json.loads(server.requests[-1].body["messages"][1]["content"])
    assert sent["statement"] == "Melanie has three dogs." and stored[1].id in sent["memories"]
    # A verdict citing nothing it was shown is not enough information; no verdict at all is a failure.
    server.reply_content(json.dumps({"verdict": "supported", "citations": ["made-up"]}))
    assert engine.verify("life", "Melanie has three dogs.").verdict == "not_enough_information"
    server.reply_content(json.dumps({"verdict": "probably"}))
    with pytest.raises(ExtractionFailed):
        engine.verify("life", "Melanie has three dogs.")
    # offline=True never asks the model.
    asked = len(server.requests)
    assert engine.verify("life", "Melanie has three dogs.", offline=True).method == "rules"
    assert len(server.requests) == asked
