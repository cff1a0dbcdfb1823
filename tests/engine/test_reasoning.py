"""domain, prove and audit with Z3: the worked examples of docs/reasoning.md, a planted conflict, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, NotFound, Unsatisfiable
from memorylayer.types import NewMemory

DEPLOY: dict[str, Any] = {
    "entities": {
        "service": {"attributes": {"env": {"enum": ["prod", "staging"]}, "replicas": "int", "approved": "bool"}}
    },
    "rules": [
        {"id": "prod-needs-two-replicas", "entity": "service", "assert": "implies(env == 'prod', replicas >= 2)"},
        {"id": "prod-needs-approval", "entity": "service", "assert": "implies(env == 'prod', approved)"},
    ],
}
BUDGET: dict[str, Any] = {
    "entities": {"team": {"attributes": {"spend": "real", "limit": "real"}}},
    "rules": [
        {"id": "within-budget", "entity": "team", "assert": "spend <= limit"},
        {"id": "cap", "entity": "team", "assert": "limit <= 10000"},
    ],
}
ACCESS: dict[str, Any] = {
    "entities": {
        "user": {"attributes": {"role": {"enum": ["admin", "member", "guest"]}, "can_delete": "bool", "mfa": "bool"}}
    },
    "rules": [
        {"id": "only-admins-delete", "entity": "user", "assert": "implies(can_delete, role == 'admin')"},
        {"id": "admins-use-mfa", "entity": "user", "assert": "implies(role == 'admin', mfa)"},
    ],
    "bindings": [{"key": "my role", "entity": "user", "instance": "me", "attribute": "role"}],
}


def _facts(engine: Engine, scope: str, facts: dict[str, str]) -> dict[str, str]:
    result = engine.add_batch(scope, [NewMemory(value, key=key) for key, value in facts.items()])
    return {m.key or "": m.id for m in result.memories}


def test_deploy_policy_proves_from_facts_and_refutes_with_a_counterexample(engine: Engine) -> None:
    engine.set_domain("ops", DEPLOY)
    ids = _facts(engine, "ops", {"service.web.env": "prod", "service.web.replicas": "3", "service.web.approved": "yes"})
    proved = engine.prove("ops", {"entity": "service", "instance": "web", "assert": "replicas > 1 and approved"})
    assert proved.status == "proved"
    used = {f.memory_id for f in proved.facts}
    assert used and used < set(ids.values())  # several minimal proofs exist; each needs two of the three facts
    for unused in set(ids.values()) - used:
        engine.delete(unused)
    again = engine.prove("ops", {"entity": "service", "instance": "web", "assert": "replicas > 1 and approved"})
    assert again.status == "proved"  # what the proof named is enough on its own
    # From the rules alone, for any service: prod implies at least two replicas.
    general = engine.prove("ops", {"entity": "service", "assert": "implies(env == 'prod', replicas > 1)"})
    assert (general.status, general.rules) == ("proved", ["prod-needs-two-replicas@*"])
    refuted = engine.prove("ops", {"entity": "service", "assert": "approved"})
    assert refuted.status == "refuted"
    assert refuted.counterexample is not None and refuted.counterexample["approved"] is False
    assert refuted.counterexample["env"] == "staging"  # the only way a service goes unapproved


def test_budget_violation_is_reported_with_the_facts_and_the_rule(engine: Engine) -> None:
    engine.set_domain("money", BUDGET)
    ids = _facts(engine, "money", {"team.ml.spend": "12,500", "team.ml.limit": "9000", "team.web.spend": "10"})
    report = engine.audit("money")
    assert not report.consistent and report.complete
    [conflict] = report.conflicts
    assert conflict.rules == ["within-budget@ml"]
    assert {f.memory_id for f in conflict.facts} == {ids["team.ml.spend"], ids["team.ml.limit"]}
    assert conflict.to_dict()["kind"] == "violation"


def test_access_rule_binds_an_explicit_key_and_finds_the_guest_who_can_delete(engine: Engine) -> None:
    engine.set_domain("acl", ACCESS)
    ids = _facts(engine, "acl", {"my role": "guest", "user.me.can_delete": "true", "user.ana.role": "admin"})
    report = engine.audit("acl")
    [conflict] = report.conflicts
    assert conflict.rules == ["only-admins-delete@me"]
    assert {f.memory_id for f in conflict.facts} == {ids["my role"], ids["user.me.can_delete"]}
    assert engine.prove("acl", {"entity": "user", "instance": "ana", "assert": "mfa"}).status == "proved"


def test_a_contradiction_planted_among_a_thousand_facts_is_found_with_its_exact_core(engine: Engine) -> None:
    engine.set_domain("money", BUDGET)
    facts = {}
    for team in range(500):
        facts[f"team.t{team}.spend"] = str(100 + team % 37)
        facts[f"team.t{team}.limit"] = str(1000 + team % 11)
    facts["team.t321.spend"] = "5000"  # the planted one: over t321's limit of 1002
    ids = _facts(engine, "money", facts)
    report = engine.audit("money")
    assert report.facts_checked == 1000
    [conflict] = report.conflicts
    assert conflict.rules == ["within-budget@t321"]
    assert {f.memory_id for f in conflict.facts} == {ids["team.t321.spend"], ids["team.t321.limit"]}


def test_a_fact_whose_value_does_not_fit_its_type_is_listed_not_guessed(engine: Engine) -> None:
    engine.set_domain("ops", DEPLOY)
    _facts(engine, "ops", {"service.web.replicas": "a few", "service.web.env": "prod"})
    report = engine.audit("ops")
    assert [u["key"] for u in report.unbound] == ["service.web.replicas"]
    assert report.consistent


def test_rules_that_no_instance_can_satisfy_are_refused_naming_them(engine: Engine) -> None:
    bad = {
        "entities": {"team": {"attributes": {"spend": "int"}}},
        "rules": [
            {"id": "positive", "entity": "team", "assert": "spend > 0"},
            {"id": "negative", "entity": "team", "assert": "spend < 0"},
            {"id": "small", "entity": "team", "assert": "spend < 100"},
        ],
    }
    with pytest.raises(Unsatisfiable) as caught:
        engine.set_domain("money", bad)
    assert caught.value.code == "unsatisfiable"
    assert caught.value.details[0]["rules"] == ["negative", "positive"]
    with pytest.raises(NotFound):
        engine.domain("money")  # nothing was stored


def test_prove_refuses_premises_that_already_contradict(engine: Engine) -> None:
    engine.set_domain("money", BUDGET)
    _facts(engine, "money", {"team.ml.spend": "20000", "team.ml.limit": "20000"})
    with pytest.raises(Unsatisfiable, match="run audit"):
        engine.prove("money", {"entity": "team", "instance": "ml", "assert": "spend > 0"})


@pytest.mark.parametrize(
    ("domain", "field"),
    [
        ({"entities": {}}, "entities"),
        ({"entities": {"t": {"attributes": {"x": "float"}}}}, "entities.t.attributes.x"),
        (
            {"entities": {"t": {"attributes": {"x": "int"}}}, "rules": [{"id": "r", "entity": "t", "assert": "y > 1"}]},
            "rules[0].assert",
        ),
        (
            {
                "entities": {"t": {"attributes": {"x": "int"}}},
                "rules": [{"id": "r", "entity": "t", "assert": "__import__('os')"}],
            },
            "rules[0].assert",
        ),
        (
            {"entities": {"t": {"attributes": {"x": "int"}}}, "rules": [{"id": "r", "entity": "u", "assert": "x > 1"}]},
            "rules[0].entity",
        ),
        (
            {"entities": {"t": {"attributes": {"x": "int"}}}, "rules": [{"id": "r", "entity": "t", "assert": "x >"}]},
            "rules[0].assert",
        ),
    ],
)
def test_a_malformed_domain_is_refused_naming_the_field(engine: Engine, domain: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        engine.set_domain("s", domain)
    assert caught.value.details[0]["path"] == [field]


def test_bad_statements_and_missing_domains_get_clear_errors(engine: Engine) -> None:
    with pytest.raises(NotFound, match="has no domain"):
        engine.prove("nowhere", {"entity": "service", "assert": "replicas > 1"})
    engine.set_domain("ops", DEPLOY)
    with pytest.raises(InvalidRequest, match="not one of env's members"):
        engine.prove("ops", {"entity": "service", "assert": "env == 'dev'"})
    with pytest.raises(InvalidRequest, match="yes/no"):
        engine.prove("ops", {"entity": "service", "assert": "replicas + 1"})
    with pytest.raises(InvalidRequest, match="timeout_ms"):
        engine.prove("ops", {"entity": "service", "assert": "approved"}, timeout_ms=0)


def test_a_hard_question_answers_unknown_within_the_time_limit(engine: Engine) -> None:
    # Nonlinear integer arithmetic: x^3 + y^3 == z^3 with positive values has no solution, but proving
    # it is beyond the solver, so within 50 ms the honest answer is "unknown", not a hang.
    engine.set_domain("math", {"entities": {"n": {"attributes": {"x": "int", "y": "int", "z": "int"}}}})
    result = engine.prove(
        "math",
        {"entity": "n", "assert": "not (x > 0 and y > 0 and z > 0 and x*x*x + y*y*y == z*z*z)"},
        timeout_ms=50,
    )
    assert result.status == "unknown" and result.reason is not None
