"""The memory operations over REST: recall(answer) and the monthly operation budgets per API key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from server_support import Server, build
from test_transport import assert_error

from memorylayer.server import ServerSettings, admin
from memorylayer.server.auth import sha256
from memorylayer.server.core import parse_iso
from standins.openai_chat import ChatCompletionsStandIn

FACTS = [
    "Caroline moved to Boston in 2021. She works as a nurse at the city hospital.",
    "Melanie has two dogs named Rex and Bo.",
]


def _remember(srv: Server, key: str, scope: str = "life") -> list[str]:
    items = [{"value": v} for v in FACTS]
    r = srv.call("POST", "/v1/memories/batch", key, {"scope": scope, "items": items})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["memories"]]


def _answer(srv: Server, key: str, question: str, scope: str = "life") -> Any:
    return srv.call("POST", "/v1/recall/answer", key, {"scope": scope, "question": question})


def test_an_offline_answer_is_the_supported_span_with_its_sentence_and_memory(srv: Server, user: str) -> None:
    ids = _remember(srv, user)
    r = _answer(srv, user, "Where did Caroline move?")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["answer"] == "Boston" and out["found"] is True
    assert out["context"] == "Caroline moved to Boston in 2021."
    assert out["citations"] == [ids[0]] and out["method"] == "extractive"
    assert ids[0] in [e["memory"]["id"] for e in out["evidence"]]


def test_a_question_memory_cannot_answer_is_not_in_memory(srv: Server, user: str) -> None:
    _remember(srv, user)
    out = _answer(srv, user, "What is Bob's favourite car?").json()
    assert out["answer"] is None and out["found"] is False and out["citations"] == []
    assert _answer(srv, user, "Where did Caroline move?", scope="never-written").json()["found"] is False


def test_bad_answer_input_is_refused_with_its_path_and_not_counted(srv: Server, user: str) -> None:
    for body, path in (
        ({"scope": "life"}, ["question"]),
        ({"scope": "life", "question": "  "}, ["question"]),
        ({"scope": "life", "question": "q", "maxItems": 0}, ["maxItems"]),
        ({"scope": "life", "question": "q", "threshold": "loose"}, ["threshold"]),
        ({"scope": "life", "question": "q", "colour": "red"}, []),
    ):
        r = srv.call("POST", "/v1/recall/answer", user, body)
        assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == path
    used = srv.call("GET", "/v1/budgets", user).json()["budgets"]["operations"]["answer"]
    assert used == {"used": 0, "limit": 50}


@pytest.fixture
def tight(home: Path) -> Iterator[Server]:
    """A server whose free plan allows 3 answers a key a month."""
    settings = ServerSettings.load(home)
    plans = {**settings.plans, "free": replace(settings.plans["free"], answer_calls=3)}
    server = build(home, replace(settings, plans=plans))
    with server.client:
        yield server
    server.state.engine.close()


def test_the_answer_budget_is_per_key_and_refused_with_the_reset_and_the_plans_that_allow_more(
    tight: Server,
) -> None:
    account, key = tight.account("budget@example.com")
    _remember(tight, key)
    assert [_answer(tight, key, "Where did Caroline move?").status_code for _ in range(3)] == [200] * 3
    refused = _answer(tight, key, "Where did Caroline move?")
    error = assert_error(refused, 429, "budget_exceeded")
    details = error["details"]
    assert details["operation"] == "answer" and details["used"] == details["limit"] == 3
    assert details["plans_with_more"] == ["basic", "pro", "team", "enterprise"]
    assert details["resets_at"].endswith("-01T00:00:00.000Z")
    assert int(refused.headers["retry-after"]) >= 1
    budget = tight.call("GET", "/v1/budgets", key).json()["budgets"]
    assert budget["operations"]["answer"] == {"used": 3, "limit": 3} and budget["resetsAt"] == details["resets_at"]
    # Another key of the same account has its own budget: licensing is per key.
    _, second = admin.create_key(tight.state.store, account)
    assert _answer(tight, second, "Where did Caroline move?").status_code == 200
    # Plain recall is not an operation and stays open.
    assert tight.call("POST", "/v1/recall", key, {"scope": "life", "query": "Caroline"}).status_code == 200


def test_the_budget_resets_with_the_next_utc_month(tight: Server) -> None:
    _, key = tight.account("month@example.com")
    _remember(tight, key)
    for _ in range(3):
        _answer(tight, key, "Where did Caroline move?")
    assert _answer(tight, key, "Where did Caroline move?").status_code == 429
    resets = tight.call("GET", "/v1/budgets", key).json()["budgets"]["resetsAt"]
    tight.clock.offset_ms += parse_iso(resets) - tight.clock()
    assert _answer(tight, key, "Where did Caroline move?").status_code == 200
    assert tight.call("GET", "/v1/budgets", key).json()["budgets"]["operations"]["answer"]["used"] == 1


def test_budgets_show_the_plan_limits_and_the_advanced_gate(srv: Server, user: str, pro: str) -> None:
    free = srv.call("GET", "/v1/budgets", user).json()["budgets"]
    assert free["planTier"] == "free" and free["operations"]["explore"] == {"used": 0, "limit": 50}
    assert free["advancedOperations"]["allowed"] is False
    team_key = srv.account("team@example.com", plan="team")[1]
    team = srv.call("GET", "/v1/budgets", team_key).json()["budgets"]
    assert team["operations"]["answer"]["limit"] == 20_000 and team["advancedOperations"]["allowed"] is True
    enterprise = srv.call("GET", "/v1/budgets", srv.account("e@example.com", plan="enterprise")[1]).json()
    assert enterprise["budgets"]["operations"]["answer"]["limit"] is None
    assert_error(srv.call("GET", "/v1/budgets"), 401, "unauthorized")


def test_a_configured_model_answers_from_the_evidence_and_cites_it(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("llm@example.com")
    ids = _remember(llm_srv, key)
    llm.reply_content(json.dumps({"answer": "Boston", "citations": [ids[0], "not-a-memory-it-was-shown"]}))
    out = _answer(llm_srv, key, "Where did Caroline move?").json()
    assert out == {**out, "answer": "Boston", "citations": [ids[0]], "method": "llm", "found": True}
    sent = json.loads(llm.requests[-1].body["messages"][1]["content"])
    assert sent["question"] == "Where did Caroline move?" and ids[0] in sent["memories"]


def test_a_model_answer_computed_from_the_ids_it_was_shown_is_cited_and_has_no_context(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("shown@example.com")
    ids = _remember(llm_srv, key)
    prompts: list[str] = []

    def answerer(system: str, user: str) -> str:
        prompts.append(system)
        shown = json.loads(user)["memories"].splitlines()
        nurse = next(line for line in shown if "nurse" in line)
        return json.dumps({"answer": "a nurse", "citations": [nurse[1 : nurse.index("]")]]})

    llm.reply_with(answerer)
    out = _answer(llm_srv, key, "What does Caroline work as?").json()
    assert out == {**out, "answer": "a nurse", "citations": [ids[0]], "method": "llm", "context": None}
    assert prompts and "ONLY the numbered memories" in prompts[0]


def test_a_model_refusal_or_an_uncited_answer_is_not_in_memory(llm_srv: Server, llm: ChatCompletionsStandIn) -> None:
    _, key = llm_srv.account("refuse@example.com")
    _remember(llm_srv, key)
    for content in ({"answer": None, "citations": []}, {"answer": "Paris", "citations": ["made-up"]}):
        llm.reply_content(json.dumps(content))
        out = _answer(llm_srv, key, "Where did Caroline move?").json()
        assert out["found"] is False and out["answer"] is None and out["method"] == "llm"


def test_an_unusable_model_answer_is_extraction_failed(llm_srv: Server, llm: ChatCompletionsStandIn) -> None:
    _, key = llm_srv.account("broken@example.com")
    _remember(llm_srv, key)
    llm.reply_content("this is not json")
    assert_error(_answer(llm_srv, key, "Where did Caroline move?"), 500, "extraction_failed")


GUIDE = """# Deploy guide

Deploys run on merge to main. The pipeline builds the image first.

## Rollback
To roll back, run `deploy --previous`. It restores the last green release within two minutes.

## Secrets
Secrets live in the vault under ops/prod. Rotate them every ninety days.
"""


def test_a_document_is_stored_as_chunks_that_recall_finds_with_their_neighbours(srv: Server) -> None:
    key = srv.account("docs@example.com", plan="team")[1]
    r = srv.call("POST", "/v1/documents", key, {"scope": "ops", "document": "deploy.md", "text": GUIDE})
    assert r.status_code == 200, r.text
    out = r.json()
    chunks = out["chunks"]
    assert [c["key"] for c in chunks] == ["deploy.md#0", "deploy.md#1", "deploy.md#2"] and out["removed"] == 0
    assert chunks[1]["value"].startswith("Deploy guide > Rollback\nTo roll back")
    recalled = srv.call("POST", "/v1/recall", key, {"scope": "ops", "query": "how do I roll back a deploy?"}).json()
    assert recalled["memories"][0]["key"] == "deploy.md#1"
    around = srv.call("POST", "/v1/documents/neighbours", key, {"memoryId": chunks[1]["id"]}).json()
    assert [m["key"] for m in around["memories"]] == ["deploy.md#0", "deploy.md#1", "deploy.md#2"]
    alone = srv.call("POST", "/v1/documents/neighbours", key, {"memoryId": chunks[0]["id"], "radius": 0}).json()
    assert [m["key"] for m in alone["memories"]] == ["deploy.md#0"]


def test_re_remembering_a_document_replaces_its_chunks_and_keeps_history(srv: Server) -> None:
    key = srv.account("redo@example.com", plan="team")[1]
    srv.call("POST", "/v1/documents", key, {"scope": "ops", "document": "deploy.md", "text": GUIDE})
    shorter = "# Deploy guide\n\nDeploys run nightly now."
    out = srv.call("POST", "/v1/documents", key, {"scope": "ops", "document": "deploy.md", "text": shorter}).json()
    assert [c["value"] for c in out["chunks"]] == ["Deploy guide\nDeploys run nightly now."] and out["removed"] == 2
    listed = srv.call("POST", "/v1/memories/list", key, {"scope": "ops", "includeTotal": True}).json()
    assert listed["total"] == 1
    engine = srv.state.engine_for(srv.state.store.key_by_hash(sha256(key)).account_id)  # type: ignore[union-attr]
    assert [h.value for h in engine.history(scope="ops", key="deploy.md#0")][0].startswith("Deploy guide\nDeploys")


def test_documents_need_an_advanced_plan_and_valid_input_and_write_nothing_otherwise(srv: Server, user: str) -> None:
    body = {"scope": "ops", "document": "deploy.md", "text": GUIDE}
    error = assert_error(srv.call("POST", "/v1/documents", user, body), 403, "plan_required")
    assert error["details"]["operation"] == "chunk" and error["details"]["required_tiers"] == ["team", "enterprise"]
    team = srv.account("bad-docs@example.com", plan="team")[1]
    for bad, path in (
        ({**body, "text": "   "}, None),
        ({**body, "document": ""}, ["document"]),
        ({**body, "importance": 2}, ["importance"]),
        ({"scope": "ops", "text": GUIDE}, ["document"]),
    ):
        refused = assert_error(srv.call("POST", "/v1/documents", team, bad), 400, "invalid_request")
        if path is not None:
            assert refused["details"][0]["path"] == path
    too_many = {**body, "text": "\n\n".join(f"Paragraph {i}. " + "word " * 190 for i in range(10_001))}
    assert srv.call("POST", "/v1/documents", team, too_many).status_code == 413
    for who in (user, team):
        assert srv.call("POST", "/v1/memories/list", who, {"scope": "ops"}).json()["memories"] == []
    missing = srv.call("POST", "/v1/documents/neighbours", team, {"memoryId": "6f1c1c1e-1111-4111-8111-111111111111"})
    assert_error(missing, 404, "not_found")
    assert_error(srv.call("POST", "/v1/documents/neighbours", team, {"memoryId": "nope"}), 404, "not_found")
    assert_error(srv.call("POST", "/v1/documents/neighbours", team, {"memoryId": 7}), 400, "invalid_request")
