"""consolidate and consolidate(compose) over REST: POST /v1/consolidate (docs/operations.md)."""

from __future__ import annotations

from server_support import Server
from test_transport import assert_error

WORK = ["User works at Acme Corp as an engineer.", "User's manager is Dana.", "User's team ships the billing service."]
QUESTION = "where does the user work, who is the manager and what does the team ship?"


def _store(srv: Server, key: str, values: list[str], scope: str = "s") -> list[str]:
    items = [{"value": v} for v in values]
    r = srv.call("POST", "/v1/memories/batch", key, {"scope": scope, "items": items, "dedup": False})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["memories"]]


def _total(srv: Server, key: str, scope: str = "s") -> int:
    return int(srv.call("POST", "/v1/memories/list", key, {"scope": scope, "includeTotal": True}).json()["total"])


def test_merge_is_open_on_the_free_plan_and_a_dry_run_writes_nothing(srv: Server, user: str) -> None:
    ids = _store(srv, user, ["User lives in Toronto.", "The user lives in Toronto, Canada.", "User likes tea."])
    plan = srv.call("POST", "/v1/consolidate", user, {"scope": "s", "dryRun": True})
    assert plan.status_code == 200, plan.text
    out = plan.json()
    assert out["dryRun"] is True and out["mode"] == "merge" and out["merged"] == 1 and out["liveAfter"] == 2
    assert out["merges"] == [{"kept": ids[1], "members": [ids[0]], "similarity": out["merges"][0]["similarity"],
                              "summary": None}]  # fmt: skip
    assert _total(srv, user) == 3
    done = srv.call("POST", "/v1/consolidate", user, {"scope": "s"}).json()
    assert done["dryRun"] is False and done["merged"] == 1 and done["liveBefore"] == 3 and done["liveAfter"] == 2
    assert _total(srv, user) == 2


def test_compose_is_advanced_and_recall_then_returns_the_composite_as_one(srv: Server, user: str) -> None:
    refused = srv.call("POST", "/v1/consolidate", user, {"scope": "s", "mode": "compose", "dryRun": True})
    assert assert_error(refused, 403, "plan_required")["details"]["operation"] == "compose"
    key = srv.account("team@example.com", plan="team")[1]
    parts = _store(srv, key, WORK)
    for _ in range(3):
        srv.call("POST", "/v1/recall", key, {"scope": "s", "query": QUESTION})
    out = srv.call("POST", "/v1/consolidate", key, {"scope": "s", "mode": "compose"}).json()
    assert out["composed"] == 1 and sorted(out["composites"][0]["parts"]) == sorted(parts)
    assert out["composites"][0]["corecalls"] == 3
    recalled = srv.call("POST", "/v1/recall", key, {"scope": "s", "query": QUESTION}).json()
    assert [m["id"] for m in recalled["memories"]] == [out["composites"][0]["id"]]


def test_bad_consolidate_input_is_refused_with_its_path(srv: Server, user: str) -> None:
    for body, path in (
        ({}, ["scope"]),
        ({"scope": ""}, ["scope"]),
        ({"scope": "s", "mode": "fold"}, ["mode"]),
        ({"scope": "s", "dryRun": "yes"}, ["dryRun"]),
        ({"scope": "s", "colour": "red"}, []),
    ):
        r = srv.call("POST", "/v1/consolidate", user, body)
        assert assert_error(r, 400, "invalid_request")["details"][0]["path"] == path
    assert_error(srv.call("POST", "/v1/consolidate", None, {"scope": "s"}), 401, "unauthorized")
