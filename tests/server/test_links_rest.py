"""weave, recall(explore) and ripple over REST (docs/operations.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from server_support import Server, build
from test_transport import assert_error

from memorylayer.server import ServerSettings
from memorylayer.types import NewMemory

FACTS = [
    "Yesterday Melanie painted a sunrise.",
    "The daughter of Melanie is Sky.",
    "User drinks green tea every morning.",
    "The build server runs on Ubuntu.",
    "User's bike has a flat tyre.",
]


def _store(srv: Server, key: str, values: list[str], scope: str = "s") -> list[str]:
    items = [{"value": v} for v in values]
    r = srv.call("POST", "/v1/memories/batch", key, {"scope": scope, "items": items, "dedup": False})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["memories"]]


def test_weave_then_explore_returns_the_linked_memory_with_its_path(srv: Server) -> None:
    key = srv.account("weave@example.com", plan="team")[1]
    sunrise, daughter, *_ = _store(srv, key, FACTS)
    woven = srv.call("POST", "/v1/weave", key, {"scope": "s"})
    assert woven.status_code == 200, woven.text
    assert woven.json()["links"] == {"entity": 1} and woven.json()["memories"] == 5
    body = {"scope": "s", "query": "What did Melanie paint?", "maxItems": 2, "seeds": 1}
    out = srv.call("POST", "/v1/recall/explore", key, body).json()
    assert [h["memory"]["id"] for h in out["hits"]] == [sunrise, daughter]
    assert out["hits"][0]["hop"] == 0 and out["hits"][0]["path"] == []
    step = out["hits"][1]["path"][0]
    assert step["from"] == sunrise and step["kind"] == "entity" and step["label"] == "melani"
    assert out["hits"][1]["memory"]["value"] == FACTS[1]
    used = srv.call("GET", "/v1/budgets", key).json()["budgets"]["operations"]["explore"]["used"]
    assert used == 1


def test_ripple_lists_and_flags_what_was_derived_from_a_memory(srv: Server) -> None:
    account, key = srv.account("ripple@example.com", plan="team")
    (fact,) = _store(srv, key, ["Melanie lives in Leeds."])
    # A summary as consolidate writes one (the wire's add takes no metadata).
    engine = srv.state.engine_for(account)
    made = engine.add_batch("s", [NewMemory("In short: Leeds.", metadata={"derived_from": [fact]})], dedup=False)
    summary = made.memories[0].id
    preview = srv.call("POST", "/v1/ripple", key, {"memoryId": fact}).json()
    assert preview["applied"] is False and preview["memoryId"] == fact
    assert [(d["memory"]["id"], d["kind"], d["via"], d["flagged"]) for d in preview["dependants"]] == [
        (summary, "derived", fact, False)
    ]
    applied = srv.call("POST", "/v1/ripple", key, {"memoryId": fact, "apply": True}).json()
    assert applied["dependants"][0]["flagged"] is True
    assert engine.get(summary).metadata["needs_review"] == fact
    assert_error(srv.call("POST", "/v1/ripple", key, {"memoryId": "nope"}), 404, "not_found")


def test_weave_and_ripple_are_advanced_and_explore_is_open_on_free(srv: Server, user: str) -> None:
    (fact,) = _store(srv, user, ["Melanie lives in Leeds."])
    for path, body in (("/v1/weave", {"scope": "s"}), ("/v1/ripple", {"memoryId": fact})):
        refused = srv.call("POST", path, user, body)
        assert assert_error(refused, 403, "plan_required")["details"]["operation"] == path.rsplit("/", 1)[1]
    explored = srv.call("POST", "/v1/recall/explore", user, {"scope": "s", "query": "Where does Melanie live?"})
    assert explored.status_code == 200 and explored.json()["hits"][0]["memory"]["id"] == fact


def test_bad_input_is_refused_with_its_path_and_not_counted(srv: Server, user: str) -> None:
    for path, body, where in (
        ("/v1/recall/explore", {"scope": "s"}, ["query"]),
        ("/v1/recall/explore", {"scope": "s", "query": " "}, ["query"]),
        ("/v1/recall/explore", {"scope": "s", "query": "q", "maxHops": 5}, ["maxHops"]),
        ("/v1/recall/explore", {"scope": "s", "query": "q", "maxNodes": 0}, ["maxNodes"]),
        ("/v1/recall/explore", {"scope": "s", "query": "q", "decay": 2}, ["decay"]),
        ("/v1/recall/explore", {"scope": "s", "query": "q", "colour": "red"}, []),
        ("/v1/weave", {}, ["scope"]),
        ("/v1/ripple", {"memoryId": 7}, ["memoryId"]),
        ("/v1/ripple", {"memoryId": "x", "apply": "yes"}, ["apply"]),
    ):
        r = srv.call("POST", path, user, body)
        assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == where
    used = srv.call("GET", "/v1/budgets", user).json()["budgets"]["operations"]["explore"]
    assert used == {"used": 0, "limit": 50}
    assert_error(srv.call("POST", "/v1/recall/explore", None, {"scope": "s", "query": "q"}), 401, "unauthorized")


@pytest.fixture
def tight(home: Path) -> Iterator[Server]:
    """A server whose free plan allows 2 explores a key a month."""
    settings = ServerSettings.load(home)
    plans = {**settings.plans, "free": replace(settings.plans["free"], explore_calls=2)}
    server = build(home, replace(settings, plans=plans))
    with server.client:
        yield server
    server.state.engine.close()


def test_the_explore_budget_is_counted_and_refused_past_it(tight: Server) -> None:
    _, key = tight.account("explore-budget@example.com")
    _store(tight, key, FACTS)
    body = {"scope": "s", "query": "What did Melanie paint?"}
    assert [tight.call("POST", "/v1/recall/explore", key, body).status_code for _ in range(2)] == [200, 200]
    error = assert_error(tight.call("POST", "/v1/recall/explore", key, body), 429, "budget_exceeded")
    assert error["details"]["operation"] == "explore" and error["details"]["used"] == 2
