"""The extension routes /v1/code/*, /v1/domain, /v1/prove and /v1/audit over the real app."""

from __future__ import annotations

from server_support import Server
from test_transport import assert_error

BUDGET = {
    "entities": {"team": {"attributes": {"spend": "real", "limit": "real"}}},
    "rules": [{"id": "within-budget", "entity": "team", "assert": "spend <= limit"}],
}


def test_ingest_then_locate_over_http_returns_path_lines_and_symbol(srv: Server, user: str) -> None:
    files = [
        {
            "path": "shop/refunds.py",
            "text": 'def refund_payment(pid):\n    """Give the money back."""\n    return pid\n',
        },
        {"path": "shop/cart.py", "text": "class Cart:\n    def total(self):\n        return 0\n"},
    ]
    summary = srv.call("POST", "/v1/code/ingest", user, {"scope": "repo", "files": files}).json()["summary"]
    assert (summary["added"], summary["symbols"]) == (2, 3)
    again = srv.call("POST", "/v1/code/ingest", user, {"scope": "repo", "files": files[:1]}).json()["summary"]
    assert (again["unchanged"], again["removed"]) == (1, 1)  # cart.py was not sent: forgotten
    found = srv.call(
        "POST", "/v1/code/locate", user, {"scope": "repo", "query": "give the money back", "topK": 3}
    ).json()
    best = found["locations"][0]
    assert (best["location"], best["symbol"], best["startLine"]) == ("shop/refunds.py:1-3", "refund_payment", 1)


def test_domain_prove_and_audit_over_http(srv: Server) -> None:
    user = srv.account("reasoner@example.com", plan="team")[1]  # advanced operations: Pro+
    assert srv.call("POST", "/v1/domain", user, {"scope": "money", "domain": BUDGET}).json()["domain"] == BUDGET
    for key, value in (("team.ml.spend", "120"), ("team.ml.limit", "100")):
        srv.call("POST", "/v1/memories", user, {"scope": "money", "key": key, "value": value})
    audit = srv.call("POST", "/v1/audit", user, {"scope": "money"}).json()["audit"]
    assert audit["conflicts"][0]["rules"] == ["within-budget@ml"]
    assert audit["factsChecked"] == 2
    proof = srv.call(
        "POST", "/v1/prove", user, {"scope": "money", "statement": {"entity": "team", "assert": "spend <= limit + 1"}}
    ).json()["proof"]
    assert proof["status"] == "proved" and proof["rules"] == ["within-budget@*"]


def test_bad_reasoning_input_gets_stable_codes(srv: Server) -> None:
    user = srv.account("reasoner@example.com", plan="team")[1]
    bad = {"entities": {"t": {"attributes": {"x": "int"}}}, "rules": [{"id": "r", "entity": "t", "assert": "x >"}]}
    assert_error(srv.call("POST", "/v1/domain", user, {"scope": "s", "domain": bad}), 400, "invalid_request")
    never = {
        "entities": {"t": {"attributes": {"x": "int"}}},
        "rules": [{"id": "a", "entity": "t", "assert": "x > 1"}, {"id": "b", "entity": "t", "assert": "x < 0"}],
    }
    response = srv.call("POST", "/v1/domain", user, {"scope": "s", "domain": never})
    assert_error(response, 409, "unsatisfiable")
    response = srv.call("POST", "/v1/prove", user, {"scope": "none", "statement": {}})
    assert_error(response, 404, "not_found")
    response = srv.call("POST", "/v1/code/ingest", user, {"scope": "r", "files": [{"path": "../x"}]})
    assert_error(response, 400, "invalid_request")


def test_reasoning_needs_an_advanced_plan_and_code_calls_draw_on_the_key_budgets(srv: Server, user: str) -> None:
    # Free and Pro have no advanced operations: domain, prove and audit answer plan_required.
    for path, payload in (
        ("/v1/domain", {"scope": "money", "domain": BUDGET}),
        ("/v1/prove", {"scope": "money", "statement": {"entity": "team", "assert": "spend <= limit"}}),
        ("/v1/audit", {"scope": "money"}),
    ):
        error = assert_error(srv.call("POST", path, user, payload), 403, "plan_required")
        assert "team" in error["details"]["required_tiers"], path
    files = [{"path": "a.py", "text": "def a():\n    return 1\n"}]
    # Free: 5 code(ingest) calls a key a month; code(locate) counts against the recall(answer) budget.
    for _ in range(5):
        assert srv.call("POST", "/v1/code/ingest", user, {"scope": "repo", "files": files}).status_code == 200
    refused = srv.call("POST", "/v1/code/ingest", user, {"scope": "repo", "files": files})
    assert assert_error(refused, 429, "budget_exceeded")["details"]["operation"] == "code.ingest"
    assert srv.call("POST", "/v1/code/locate", user, {"scope": "repo", "query": "a"}).status_code == 200
    used = srv.call("GET", "/v1/budgets", user).json()["budgets"]["operations"]
    assert used["code.ingest"] == {"used": 5, "limit": 5} and used["answer"] == {"used": 1, "limit": 50}
