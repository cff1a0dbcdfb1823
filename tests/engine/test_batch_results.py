"""remember(batch): one transaction per batch and what became of each item, in input order."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, MemoryLayerError
from memorylayer.types import NewMemory, Refused


def test_each_item_says_stored_updated_duplicate_or_unchanged(engine: Engine) -> None:
    first = engine.add_batch(
        "life",
        [NewMemory("Caroline moved to Boston in 2021."), NewMemory("UTC+1", key="timezone")],
    )
    assert [(r.index, r.status) for r in first.items] == [(0, "stored"), (1, "stored")]
    boston, zone = (r.id for r in first.items)
    again = engine.add_batch(
        "life",
        [
            NewMemory("Melanie has two dogs named Rex and Bo."),
            NewMemory("Caroline moved to Boston in 2021."),
            NewMemory("UTC+2", key="timezone"),
            NewMemory("Melanie has two dogs named Rex and Bo."),
            NewMemory("UTC+2", key="timezone"),
        ],
    )
    statuses = [(r.index, r.status) for r in again.items]
    assert statuses == [(0, "stored"), (1, "duplicate"), (2, "updated"), (3, "duplicate"), (4, "unchanged")]
    dogs = again.items[0].id
    assert again.items[1].id == boston and again.items[3].id == dogs
    assert again.items[2].id == zone and again.items[4].id == zone
    assert engine.get_key("life", "timezone").value == "UTC+2"  # type: ignore[union-attr]
    assert [h.value for h in engine.history(zone)][-1] == "UTC+1"
    assert engine.count("life") == 3


def test_a_reworded_memory_supersedes_the_older_one_and_names_it(engine: Engine) -> None:
    old = engine.add_batch("chat", [NewMemory("Joanna: Bye Nate!")]).items[0].id
    (item,) = engine.add_batch("chat", [NewMemory("Joanna: Bye, Nate!!")]).items
    assert item.status == "superseded" and item.supersedes == [old] and item.id != old
    assert [m.value for m in engine.list(scope="chat").memories] == ["Joanna: Bye, Nate!!"]
    assert engine.history(old)[0].value == "Joanna: Bye Nate!"


def test_a_bad_item_refuses_the_whole_batch_with_its_path(engine: Engine) -> None:
    with pytest.raises(InvalidRequest) as refused:
        engine.add_batch("s", [NewMemory("fine"), NewMemory("  "), NewMemory("x", importance=2)])
    assert refused.value.code == "invalid_request" and "items[1]" in refused.value.message
    assert engine.count("s") == 0


def test_a_quota_refusal_writes_nothing(engine: Engine) -> None:
    def full(added: int) -> None:
        raise MemoryLayerError(f"quota: {added} more would exceed it")

    with pytest.raises(MemoryLayerError):
        engine.add_batch("q", [NewMemory("one fact"), NewMemory("another fact", key="k")], admit=full)
    assert engine.count("q") == 0 and engine.get_key("q", "k") is None


def _fault_on_insert_of(engine: Engine, value: str) -> None:
    """A trigger in the real database that fails any insert of ``value``, as a disk fault would."""
    url = os.environ.get("MEMORYLAYER_DATABASE", "")
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION fault() RETURNS trigger AS $$ BEGIN "
                "IF NEW.value = '" + value + "' THEN RAISE EXCEPTION 'disk fault'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            conn.execute("CREATE TRIGGER fault BEFORE INSERT ON memories FOR EACH ROW EXECUTE FUNCTION fault()")
        return
    with closing(sqlite3.connect(engine.store.database.path)) as conn:  # type: ignore[attr-defined]
        conn.execute(
            f"CREATE TRIGGER fault BEFORE INSERT ON memories WHEN NEW.value = '{value}' "
            "BEGIN SELECT RAISE(ABORT, 'disk fault'); END"
        )
        conn.commit()


def test_a_store_fault_mid_batch_leaves_nothing_written(engine: Engine) -> None:
    engine.add_batch("f", [NewMemory("old value", key="k")])
    _fault_on_insert_of(engine, "boom")
    items = [NewMemory("first fact"), NewMemory("new value", key="k"), NewMemory("boom"), NewMemory("last fact")]
    with pytest.raises(Exception, match="disk fault"):
        engine.add_batch("f", items)
    assert engine.count("f") == 1
    assert engine.get_key("f", "k").value == "old value"  # type: ignore[union-attr]
    assert [m.value for m in engine.list(scope="f").memories] == ["old value"]


def test_a_partial_batch_refuses_bad_items_in_place_and_writes_the_rest(engine: Engine) -> None:
    items = [
        NewMemory("Caroline moved to Boston in 2021."),
        NewMemory("  "),
        NewMemory("UTC+1", key="timezone"),
        NewMemory("x", importance=2),
        NewMemory("Caroline moved to Boston in 2021."),
    ]
    out = engine.add_batch("p", items, partial=True)
    assert [(r.index, r.status, r.code) for r in out.items] == [
        (0, "stored", None),
        (1, "refused", "invalid_request"),
        (2, "stored", None),
        (3, "refused", "invalid_request"),
        (4, "duplicate", None),
    ]
    assert out.items[1].message.startswith("items[1].value: ")  # type: ignore[union-attr]
    assert out.items[3].message.startswith("items[3].importance: ") and out.items[3].id == ""  # type: ignore[union-attr]
    assert out.items[4].id == out.items[0].id
    assert [m.value for m in out.memories] == ["Caroline moved to Boston in 2021.", "UTC+1"]
    assert out.skipped == ["Caroline moved to Boston in 2021."]
    assert engine.count("p") == 2 and engine.get_key("p", "timezone").value == "UTC+1"  # type: ignore[union-attr]
    # The same items without partial: the first bad one refuses them all, as before.
    with pytest.raises(InvalidRequest, match=r"items\[1\]\.value"):
        engine.add_batch("p2", items)
    assert engine.count("p2") == 0


def test_a_partial_batch_of_bad_items_writes_nothing_and_a_bad_envelope_still_raises(engine: Engine) -> None:
    out = engine.add_batch("none", [NewMemory(""), Refused("invalid_request", "line 2: not valid JSON")], partial=True)
    assert [(r.status, r.code, r.message) for r in out.items] == [
        ("refused", "invalid_request", out.items[0].message),
        ("refused", "invalid_request", "line 2: not valid JSON"),
    ]
    assert out.memories == [] and engine.count("none") == 0 and not engine.scope_exists("none")
    for envelope in ([], [NewMemory("x")] * 1001, "not a list"):
        with pytest.raises(InvalidRequest, match="items: expected a list of 1 to 1000"):
            engine.add_batch("none", envelope, partial=True)  # type: ignore[arg-type]


def test_a_partial_batch_takes_the_quota_room_in_order_and_refuses_the_new_tail(engine: Engine) -> None:
    engine.add_batch("q", [NewMemory("Lisbon", key="city"), NewMemory("Joanna: Bye Nate!")])
    asked: list[int] = []

    def room() -> int:
        asked.append(engine.count())  # inside the write's transaction, before it writes
        return 1

    items = [
        NewMemory("Melanie has two dogs."),
        NewMemory("Bob plays the cello."),
        NewMemory("Porto", key="city"),
        NewMemory("Joanna: Bye, Nate!!"),
        NewMemory("Melanie has two dogs."),
        NewMemory("Berlin", key="town"),
    ]
    out = engine.add_batch("q", items, partial=True, room=room)
    assert [(r.status, r.code) for r in out.items] == [
        ("stored", None),
        ("refused", "quota_exceeded"),
        ("updated", None),  # an update adds no memory: it fits
        ("superseded", None),  # nor does a supersede
        ("duplicate", None),
        ("refused", "quota_exceeded"),
    ]
    assert asked == [2] and out.items[1].message == "over the memory limit: no room left for another memory"
    assert engine.count("q") == 3 and engine.get_key("q", "town") is None
    assert out.skipped == ["Melanie has two dogs."] and len(out.memories) == 3
    # Unkeyed, without dedup (the store's bulk path): the first ones that fit, in order.
    bulk = engine.add_batch("b", [NewMemory(f"turn {i}") for i in range(4)], dedup=False, partial=True, room=lambda: 2)
    assert [r.status for r in bulk.items] == ["stored", "stored", "refused", "refused"]
    assert sorted(m.value for m in engine.list(scope="b").memories) == ["turn 0", "turn 1"]


def test_a_store_fault_in_a_partial_batch_rolls_back_every_accepted_item(engine: Engine) -> None:
    _fault_on_insert_of(engine, "boom")
    items = [NewMemory("first fact"), NewMemory(""), NewMemory("boom"), NewMemory("k v", key="k")]
    with pytest.raises(Exception, match="disk fault"):
        engine.add_batch("f", items, partial=True)
    assert engine.count("f") == 0 and engine.get_key("f", "k") is None
