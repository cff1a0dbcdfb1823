"""recall(answer) offline: the shortest span of the best evidence sentence, and refusals of questions
about someone the evidence never mentions (engine/spans.py, engine/answer.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.spans import question_kind, span


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


SAID = ms("2023-05-08T13:56:00")  # a Monday


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Caroline go to the support group?", "when"),
        ("What year did Melanie paint a sunrise?", "when"),
        ("How many dogs does Melanie have?", "count"),
        ("Where did Jolene travel in September?", "where"),
        ("Which country was Jolene in last week?", "where"),
        ("What book did Caroline recommend?", "what"),
        ("Who gave Caroline the necklace?", "what"),
    ],
)
def test_a_questions_kind_comes_from_its_wording(question: str, kind: str) -> None:
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # A date the sentence names is the answer as written; a relative one is resolved against the
        # memory's time; a sentence naming no time answers with the day it was said.
        ("When did Jon open his studio?", "Jon: I opened it on 24 April, 2023!", "24 April, 2023"),
        ("When did Caroline go to the support group?", "Caroline: I went to a support group yesterday.", "7 May 2023"),
        ("When did Nate make ice cream?", "Nate: I made vegan ice cream last Friday.", "the friday before 8 May 2023"),
        ("When did Mel run the race?", "Mel: I ran a charity race last month.", "April 2023"),
        ("When did Tim start?", "Tim: I started two weeks ago.", "two weeks before 8 May 2023"),
        ("When did Mel paint it?", "Mel: I painted that one by the lake.", "8 May 2023"),
        ("How many dogs does Melanie have?", "Melanie has two dogs named Rex and Bo.", "two"),
        ("Where did Caroline move?", "Caroline moved to Boston in 2021.", "Boston"),
        (
            "What book did Caroline recommend?",
            'Caroline: You should read "Becoming Nicole" by Amy Ellis Nutt.',
            "Becoming Nicole",
        ),  # fmt: skip
        (
            "What hobby is a therapy for John?",
            "John: When I'm away from the court, cooking is therapy for me.",
            "away from the court, cooking",
        ),  # fmt: skip
    ],
)
def test_the_span_is_the_part_of_the_sentence_that_answers_the_question(
    question: str, sentence: str, expected: str
) -> None:
    assert span(question, sentence, SAID) == expected


def test_a_sentence_that_adds_nothing_to_the_question_has_no_span() -> None:
    assert span("What does Melanie have?", "Melanie: I have!", SAID) is None


def test_an_offline_answer_is_the_span_with_its_sentence_as_context_and_its_memory_cited(engine: Engine) -> None:
    turn = engine.add("chat", "Caroline: I went to the LGBTQ support group yesterday. It was powerful.",
                      extract=False, created_at=SAID)  # fmt: skip
    engine.add("chat", "Melanie: I painted a lake sunrise last year.", extract=False, created_at=SAID)
    answer = engine.answer("chat", "When did Caroline go to the LGBTQ support group?", offline=True)
    assert answer.answer == "7 May 2023" and answer.method == "extractive"
    assert answer.context == "Caroline: I went to the LGBTQ support group yesterday."
    assert answer.citations == [turn.memories[0].id]


def test_a_question_about_someone_the_evidence_never_mentions_is_not_in_memory(engine: Engine) -> None:
    engine.add("chat", "John: My second kitten is called Shadow, she loves the sofa.", extract=False)
    engine.add("chat", "Maria: I volunteered at the homeless shelter on Saturday.", extract=False)
    about_john = engine.answer("chat", "What is the name of John's second kitten?", offline=True)
    assert about_john.found and "Shadow" in (about_john.answer or "")
    about_maria = engine.answer("chat", "What is the name of Maria's second kitten?", offline=True)
    assert about_maria.evidence, "the kitten turn is still recalled as evidence"
    assert not about_maria.found and about_maria.answer is None and about_maria.citations == []
    assert about_maria.context is None
