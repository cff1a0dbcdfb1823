"""remember(batch): one transaction per batch and what became of each item, in input order."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, MemoryLayerError
from memorylayer.types import NewMemory


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
