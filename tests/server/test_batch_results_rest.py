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
