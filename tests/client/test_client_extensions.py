"""The SDK's calls for our wire extensions (created_at, extract=False, add_batch), Client and AsyncClient."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from memorylayer.client import models as m
from memorylayer.errors import InvalidRequest

Make = Callable[..., Any]


def test_add_with_a_time_and_verbatim(sdk: Make) -> None:
    client = sdk()
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    added = client.add("conv", "Caroline: I went to a support group", created_at=when, extract=False, importance=0.7)
    memory = added.memories[0]
    assert memory.value == "Caroline: I went to a support group" and memory.key is None
    assert memory.created_at == when and memory.source == "explicit"
    recalled = client.recall("conv", "what did Caroline do on 8 May 2023?")
    assert recalled.context.startswith("Caroline: I went to a support group")
    assert recalled.ranking.strategy == "semantic" and recalled.ranking.ordering == "relevance"


def test_add_batch_stores_a_conversation(sdk: Make) -> None:
    client = sdk()
    turns = [
        {"value": "Joanna: Bye Nate!", "created_at": "2023-01-21T16:00:00Z"},
        {"value": "Nate: Bye Joanna!", "created_at": datetime(2023, 1, 21, 16, 1, tzinfo=UTC)},
        "Joanna: Bye Nate!",
        {"key": "name", "value": "Joanna", "importance": 0.9},
    ]
    response = client.add_batch("chat", turns, dedup=False)
    assert isinstance(response, m.BatchResponse) and response.request_id and response.skipped == 0
    assert [mem.value for mem in response.memories] == [
        "Joanna: Bye Nate!",
        "Nate: Bye Joanna!",
        "Joanna: Bye Nate!",
        "Joanna",
    ]
    assert response.memories[1].created_at == datetime(2023, 1, 21, 16, 1, tzinfo=UTC)
    assert client.list(scope="chat", include_total=True).total == 4


def test_add_batch_refuses_bad_items_before_sending(sdk: Make) -> None:
    client = sdk()
    with pytest.raises(InvalidRequest) as caught:
        client.add_batch("chat", [{"value": "fine"}, {"value": ""}, {"value": "x", "importance": 2}])
    assert caught.value.status == 0
    assert [d["path"] for d in caught.value.details] == [["items", 1, "value"], ["items", 2, "importance"]]
    with pytest.raises(InvalidRequest) as caught:
        client.add_batch("chat", [])
    assert caught.value.details[0]["code"] == "too_small" and caught.value.details[0]["origin"] == "array"
    with pytest.raises(ValueError, match="timezone-aware"):
        client.add("chat", "x", extract=False, created_at=datetime(2023, 1, 1))


def test_answer_cites_the_memory_it_rests_on_and_counts_against_the_budget(sdk: Make) -> None:
    client = sdk()
    added = client.add_batch("life", ["Caroline moved to Boston in 2021.", "Melanie has two dogs."])
    response = client.answer("life", "Where did Caroline move?", max_items=4)
    assert isinstance(response, m.AnswerResponse) and response.found and response.method == "extractive"
    assert response.answer == "Boston" and response.context == "Caroline moved to Boston in 2021."
    assert response.citations == [added.memories[0].id] and response.evidence[0].memory.id == added.memories[0].id
    assert client.answer("life", "What is Bob's car?").answer is None
    budgets = client.budgets().budgets
    assert budgets.operations["answer"].used == 2 and budgets.operations["answer"].limit == 2_000
    assert budgets.advanced_operations.allowed is False and budgets.resets_at.day == 1


def test_answer_refuses_a_blank_question_before_sending(sdk: Make) -> None:
    with pytest.raises(InvalidRequest) as caught:
        sdk().answer("life", "")
    assert caught.value.status == 0 and caught.value.details[0]["path"] == ["question"]


def test_remember_document_stores_chunks_and_neighbours_reads_around_one(sdk: Make) -> None:
    client = sdk(plan="team")
    text = "# Guide\n\nDeploys run on merge.\n\n## Rollback\nRun deploy --previous to roll back."
    stored = client.remember_document("ops", "guide.md", text)
    assert isinstance(stored, m.DocumentResponse) and [c.key for c in stored.chunks] == ["guide.md#0", "guide.md#1"]
    around = client.neighbours(stored.chunks[1].id)
    assert [c.key for c in around.memories] == ["guide.md#0", "guide.md#1"]


def test_remember_document_needs_an_advanced_plan(sdk: Make) -> None:
    from memorylayer.errors import PlanRequired

    with pytest.raises(PlanRequired) as caught:
        sdk(plan="pro").remember_document("ops", "guide.md", "Some text.")
    assert caught.value.status == 403 and caught.value.details["operation"] == "chunk"
    with pytest.raises(InvalidRequest) as refused:
        sdk(plan="team").remember_document("ops", "", "Some text.")
    assert refused.value.status == 0 and refused.value.details[0]["path"] == ["document"]


def test_expiry_and_as_of_through_the_sdk(sdk: Make) -> None:
    client = sdk()
    later = datetime(2099, 1, 1, tzinfo=UTC)
    note = client.add("t", "A note for this week", extract=False, expires_at=later).memories[0]
    assert note.expires_at == later and note.valid_from is None
    session = client.add("t", "draft", key="session", ttl_seconds=3600).memories[0]
    assert session.expires_at is not None and session.expires_at > datetime.now(UTC)
    client.add_batch("t", [{"value": "batch note", "ttl_seconds": 60}, {"value": "kept"}])
    expiring = client.list(scope="t", expiring=True, order_by="expires_at", order_dir="asc")
    assert [mem.value for mem in expiring.memories] == ["batch note", "draft", "A note for this week"]
    for when, plan in (("2024-03-01T00:00:00Z", "free"), ("2024-08-15T00:00:00Z", "pro")):
        client.add("t", plan, key="plan", created_at=when)
    then = client.get("t", "plan", as_of="2024-05-01T00:00:00Z").memory
    assert then is not None and then.value == "free"
    assert (then.valid_from, then.valid_to) == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 8, 15, tzinfo=UTC))
    assert client.get("t", "plan").memory.value == "pro"
    assert client.recall("t", "which plan?", as_of=datetime(2024, 5, 1, tzinfo=UTC)).context == "plan: free"
    listed = client.list(scope="t", as_of="2024-05-01T00:00:00Z")
    assert [mem.value for mem in listed.memories] == ["free"]
    with pytest.raises(InvalidRequest, match="ttlSeconds"):
        client.add("t", "x", key="k", ttl_seconds=0)


def test_add_batch_reports_each_item_in_order(sdk: Make) -> None:
    client = sdk()
    first = client.add_batch("t", [{"key": "city", "value": "Lisbon"}, "Joanna: Bye Nate!"])
    assert [(r.index, r.status) for r in first.results] == [(0, "stored"), (1, "stored")]
    again = client.add_batch("t", [{"key": "city", "value": "Porto"}, "Joanna: Bye, Nate!!", "Joanna: Bye, Nate!!"])
    assert all(isinstance(r, m.BatchItemResult) for r in again.results)
    assert [r.status for r in again.results] == ["updated", "superseded", "duplicate"]
    assert again.results[0].id == first.results[0].id
    assert again.results[1].supersedes == [first.results[1].id]
    assert again.results[2].id == again.results[1].id and again.skipped == 1


def test_add_batch_partial_writes_the_good_items_and_reports_the_refused_ones(sdk: Make) -> None:
    client = sdk(plan="tiny")  # room for one memory
    items = [
        "Caroline moved to Boston in 2021.",
        {"value": "", "key": "empty"},
        {"value": "Melanie has two dogs.", "importance": 2},
        "Bob plays the cello.",
    ]
    with pytest.raises(InvalidRequest) as caught:  # the default: refused before sending
        client.add_batch("p", items)
    assert caught.value.status == 0
    out = client.add_batch("p", items, partial=True)
    assert isinstance(out, m.BatchResponse) and all(isinstance(r, m.BatchItemResult) for r in out.results)
    assert [(r.index, r.status, r.code) for r in out.results] == [
        (0, "stored", None),
        (1, "refused", "invalid_request"),
        (2, "refused", "invalid_request"),
        (3, "refused", "quota_exceeded"),
    ]
    assert out.results[1].message.startswith("items[1].value: ") and out.results[1].id is None
    assert out.results[2].details[0]["path"] == ["items", 2, "importance"]
    assert [mem.value for mem in out.memories] == ["Caroline moved to Boston in 2021."] and out.skipped == 0
    assert [mem.value for mem in client.list(scope="p").memories] == ["Caroline moved to Boston in 2021."]
    with pytest.raises(InvalidRequest) as caught:  # the envelope is still checked before sending
        client.add_batch("p", [], partial=True)
    assert caught.value.status == 0 and caught.value.details[0]["path"] == ["items"]


def test_verify_returns_the_verdict_with_its_evidence(sdk: Make) -> None:
    client = sdk(plan="team")
    dogs = client.add_batch("v", ["Melanie has two dogs named Rex and Bo."]).results[0].id
    response = client.verify("v", "Melanie has three dogs.", max_items=4)
    assert isinstance(response, m.VerifyResponse) and response.request_id
    assert response.verdict == "contradicted" and response.method == "rules"
    assert [(e.memory.id, e.check) for e in response.evidence] == [(dogs, "number")]
    assert client.verify("v", "Melanie has 2 dogs.").verdict == "supported"
    assert client.verify("v", "Bob drives a red car.").verdict == "not_enough_information"
    with pytest.raises(InvalidRequest) as caught:
        client.verify("v", "")
    assert caught.value.status == 0 and caught.value.details[0]["path"] == ["statement"]
    from memorylayer.errors import PlanRequired

    with pytest.raises(PlanRequired):
        sdk(plan="free").verify("v", "Melanie has 2 dogs.")
