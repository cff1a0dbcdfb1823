"""remember(batch) over REST: each item's outcome in input order, beside the fields the SDK relies on."""

from __future__ import annotations

from server_support import Server
from test_transport import assert_error


def _batch(srv: Server, key: str, items: list[dict[str, object]], **extra: object) -> dict[str, object]:
    r = srv.call("POST", "/v1/memories/batch", key, {"scope": "life", "items": items, **extra})
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def test_each_item_reports_what_became_of_it(srv: Server, user: str) -> None:
    first = _batch(srv, user, [{"value": "Joanna: Bye Nate!"}, {"key": "city", "value": "Lisbon"}])
    assert [(r["index"], r["status"], r["supersedes"]) for r in first["results"]] == [  # type: ignore[attr-defined]
        (0, "stored", []),
        (1, "stored", []),
    ]
    bye, city = (r["id"] for r in first["results"])  # type: ignore[attr-defined]
    items = [
        {"value": "Joanna: Bye, Nate!!"},
        {"key": "city", "value": "Berlin"},
        {"value": "Melanie has two dogs."},
        {"value": "Melanie has two dogs."},
        {"key": "city", "value": "Berlin"},
    ]
    out = _batch(srv, user, items)
    results = out["results"]
    assert [r["status"] for r in results] == ["superseded", "updated", "stored", "duplicate", "unchanged"]  # type: ignore[attr-defined]
    assert results[0]["supersedes"] == [bye] and results[0]["id"] != bye  # type: ignore[index]
    assert results[1]["id"] == city and results[4]["id"] == city  # type: ignore[index]
    assert results[3]["id"] == results[2]["id"]  # type: ignore[index]
    # The fields older clients read are unchanged: the rows written or updated, and the skip count.
    assert [m["value"] for m in out["memories"]] == ["Joanna: Bye, Nate!!", "Berlin", "Melanie has two dogs.", "Berlin"]  # type: ignore[attr-defined]
    assert out["skipped"] == 1
    listed = srv.call("POST", "/v1/memories/list", user, {"scope": "life", "includeTotal": True}).json()
    assert listed["total"] == 3


def test_a_bad_item_is_refused_with_its_path_and_nothing_is_written(srv: Server, user: str) -> None:
    items = [{"value": "fine"}, {"key": "k", "value": "v"}, {"value": "x", "importance": 3}]
    r = srv.call("POST", "/v1/memories/batch", user, {"scope": "life", "items": items})
    details = assert_error(r, 400, "invalid_request")["details"]
    assert [d["path"] for d in details] == [["items", 2, "importance"]]
    assert srv.call("POST", "/v1/memories/list", user, {"scope": "life"}).json()["memories"] == []


def test_a_partial_batch_refuses_bad_items_and_the_tail_over_the_quota_in_place(srv: Server) -> None:
    account_id, raw = srv.account("partial@example.com")
    srv.state.store.set_plan(account_id, plan_tier="free", memory_limit=3, monthly_api_call_limit=100)
    assert _batch(srv, raw, [{"key": "city", "value": "Lisbon"}])["results"][0]["status"] == "stored"  # type: ignore[index]
    items = [
        {"value": "Melanie has two dogs."},
        {"value": "x", "importance": 3},
        {"key": "city", "value": "Porto"},
        {"value": "  ", "colour": "red"},
        {"value": "Bob plays the cello."},
        {"value": "Caroline moved to Boston."},
        {"value": "Melanie has two dogs."},
        {"value": "soon", "ttlSeconds": 60, "expiresAt": "2999-01-01T00:00:00Z"},
    ]
    out = _batch(srv, raw, items, partial=True)
    results: list[dict[str, object]] = out["results"]  # type: ignore[assignment]
    assert [(r["index"], r["status"], r.get("code")) for r in results] == [
        (0, "stored", None),
        (1, "refused", "invalid_request"),
        (2, "updated", None),
        (3, "refused", "invalid_request"),
        (4, "stored", None),
        (5, "refused", "quota_exceeded"),
        (6, "duplicate", None),
        (7, "refused", "invalid_request"),
    ]
    assert results[1]["message"].startswith("items[1].importance: Too big") and results[1]["id"] is None  # type: ignore[union-attr]
    assert [d["path"] for d in results[1]["details"]] == [["items", 1, "importance"]]  # type: ignore[union-attr]
    assert [d["path"] for d in results[3]["details"]] == [["items", 3, "value"], ["items", 3]]  # type: ignore[union-attr]
    assert results[5]["message"] == "over the memory limit: no room left for another memory"
    assert results[7]["message"].startswith("items[7].expiresAt: give an expiry or a ttl")  # type: ignore[union-attr]
    assert [m["value"] for m in out["memories"]] == ["Melanie has two dogs.", "Porto", "Bob plays the cello."]  # type: ignore[attr-defined]
    assert out["skipped"] == 1
    listed = srv.call("POST", "/v1/memories/list", raw, {"scope": "life", "includeTotal": True}).json()
    assert sorted(m["value"] for m in listed["memories"]) == ["Bob plays the cello.", "Melanie has two dogs.", "Porto"]
    # Full: a new memory is refused, an update still goes through; nothing refused is written.
    again = _batch(srv, raw, [{"value": "one more fact"}, {"key": "city", "value": "Faro"}], partial=True)
    assert [r["status"] for r in again["results"]] == ["refused", "updated"]  # type: ignore[attr-defined]
    # Without partial the same over-quota batch refuses everything, as before.
    r = srv.call("POST", "/v1/memories/batch", raw, {"scope": "life", "items": [{"value": "one more fact"}]})
    assert_error(r, 403, "quota_exceeded")


def test_a_partial_batch_of_only_bad_items_is_a_200_and_a_bad_envelope_still_a_400(srv: Server, user: str) -> None:
    out = _batch(srv, user, [{"value": ""}, {"importance": 0.5}], partial=True)
    assert [(r["status"], r["code"]) for r in out["results"]] == [  # type: ignore[attr-defined]
        ("refused", "invalid_request"),
        ("refused", "invalid_request"),
    ]
    assert out["results"][1]["message"] == "items[1].value: Invalid input: expected string, received undefined"  # type: ignore[index]
    assert out["memories"] == [] and out["skipped"] == 0
    assert srv.call("POST", "/v1/memories/list", user, {"scope": "life"}).json()["memories"] == []
    for body, path in (
        ({"scope": "life", "items": [], "partial": True}, ["items"]),
        ({"scope": "life", "items": [{"value": "x"}] * 1001, "partial": True}, ["items"]),
        ({"scope": "life", "items": "x", "partial": True}, ["items"]),
        ({"scope": " ", "items": [{"value": "x"}], "partial": True}, ["scope"]),
        ({"scope": "life", "items": [{"value": "x"}], "partial": "yes"}, ["partial"]),
    ):
        r = srv.call("POST", "/v1/memories/batch", user, body)
        assert [d["path"] for d in assert_error(r, 400, "invalid_request")["details"]] == [path]
    # The default still refuses the whole batch for one bad item.
    r = srv.call("POST", "/v1/memories/batch", user, {"scope": "life", "items": [{"value": "ok"}, {"value": ""}]})
    assert [d["path"] for d in assert_error(r, 400, "invalid_request")["details"]] == [["items", 1, "value"]]
    assert srv.call("POST", "/v1/memories/list", user, {"scope": "life"}).json()["memories"] == []
