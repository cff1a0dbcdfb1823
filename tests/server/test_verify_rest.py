"""verify over REST: an advanced operation, its verdicts with evidence, bad input refused uncounted."""

from __future__ import annotations

import json
from typing import Any

from server_support import Server
from test_transport import assert_error

from standins.openai_chat import ChatCompletionsStandIn

FACTS = ["Melanie has two dogs named Rex and Bo.", "Caroline moved to Boston in May 2021."]


def _store(srv: Server, key: str) -> list[str]:
    items = [{"value": v} for v in FACTS] + [{"key": "timezone", "value": "UTC+1"}]
    r = srv.call("POST", "/v1/memories/batch", key, {"scope": "life", "items": items})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["memories"]]


def _verify(srv: Server, key: str, statement: Any, **extra: Any) -> Any:
    return srv.call("POST", "/v1/verify", key, {"scope": "life", "statement": statement, **extra})


def test_verdicts_come_with_the_memory_and_the_check(srv: Server) -> None:
    key = srv.account("verify@example.com", plan="team")[1]
    dogs, boston, zone = _store(srv, key)
    r = _verify(srv, key, "Melanie has three dogs.")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["verdict"] == "contradicted" and out["method"] == "rules"
    assert out["statement"] == "Melanie has three dogs."
    assert [(e["memory"]["id"], e["check"]) for e in out["evidence"]] == [(dogs, "number")]
    supported = _verify(srv, key, "Caroline moved to Boston.").json()
    assert supported["verdict"] == "supported" and supported["evidence"][0]["memory"]["id"] == boston
    keyed = _verify(srv, key, "My timezone is UTC+3", maxItems=3).json()
    assert keyed["verdict"] == "contradicted" and keyed["evidence"][0]["check"] == "key"
    assert keyed["evidence"][0]["memory"]["id"] == zone
    unknown = _verify(srv, key, "Bob drives a red car.").json()
    assert unknown["verdict"] == "not_enough_information" and unknown["evidence"] == []


def test_verify_needs_the_advanced_operations_and_bad_input_is_refused_first(srv: Server, user: str) -> None:
    gated = assert_error(_verify(srv, user, "Melanie has three dogs."), 403, "plan_required")
    assert gated["details"]["operation"] == "verify"
    budgets = srv.call("GET", "/v1/budgets", user).json()["budgets"]
    assert "verify" in budgets["advancedOperations"]["operations"]
    key = srv.account("verify-bad@example.com", plan="team")[1]
    for statement, extra in (
        ("   ", {}),
        ("x" * 2_001, {}),
        (None, {}),
        ("fine", {"maxItems": 0}),
        ("ok", {"colour": 1}),
    ):
        body = {"scope": "life", **extra} if statement is None else {"scope": "life", "statement": statement, **extra}
        r = srv.call("POST", "/v1/verify", key, body)
        assert_error(r, 400, "invalid_request")
    # A bad request is refused before the plan gate: it is not a call of the operation.
    assert_error(_verify(srv, user, "  "), 400, "invalid_request")


def test_a_configured_model_judges_and_an_unusable_reply_is_extraction_failed(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    key = llm_srv.account("judge@example.com", plan="team")[1]
    dogs = _store(llm_srv, key)[0]
    llm.reply_content(json.dumps({"verdict": "supported", "citations": [dogs], "reason": "Melanie has two dogs"}))
    out = _verify(llm_srv, key, "Melanie has 2 dogs.").json()
    assert out["verdict"] == "supported" and out["method"] == "llm"
    assert [(e["memory"]["id"], e["check"], e["reason"]) for e in out["evidence"]] == [
        (dogs, "llm", "Melanie has two dogs")
    ]
    llm.reply_content("not json")
    assert_error(_verify(llm_srv, key, "Melanie has 2 dogs."), 500, "extraction_failed")
