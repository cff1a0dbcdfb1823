"""Insert, get, replace, supersede and delete; keyed uniqueness; history."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from store_support import ACCOUNT, MODEL, OTHER_ACCOUNT, SCOPE, memory, put, terms, unit

from memorylayer.errors import Conflict
from memorylayer.store import Store
from memorylayer.types import HistoryEntry, MemoryRecord


def history_of(record: MemoryRecord, event: str, at: int, by: str | None = None) -> HistoryEntry:
    return HistoryEntry(
        memory_id=record.id,
        scope=record.scope,
        key=record.key,
        value=record.value,
        metadata=record.metadata,
        importance=record.importance,
        source=record.source,
        event=event,
        replaced_at=at,
        replaced_by=by,
    )


def test_an_inserted_memory_reads_back_field_for_field(store: Store) -> None:
    record = memory(
        "Prefers tea — never coffee ☕",
        key="drink",
        metadata={"from": "chat", "tags": ["é", 1]},
        importance=0.8,
        source="imported",
        at=1_000,
        updated_at=2_000,
    )
    store.insert(record, unit(1), terms(record.value))
    assert store.get(ACCOUNT, record.id) == record


def test_a_memory_is_invisible_to_another_account_and_to_unknown_ids(store: Store) -> None:
    _, record = put(store, "the launch is on friday")
    assert store.get(OTHER_ACCOUNT, record.id) is None
    assert store.get(ACCOUNT, "no-such-id") is None


def test_insert_returns_a_distinct_row_number_per_memory(store: Store) -> None:
    rows = [put(store, f"fact {i}") for i in range(5)]
    assert len({rowid for rowid, _ in rows}) == 5
    found = store.get_many_by_rowid(ACCOUNT, [rowid for rowid, _ in rows])
    assert {rowid: r.id for rowid, r in found.items()} == {rowid: r.id for rowid, r in rows}


def test_a_memory_without_a_vector_has_no_model(store: Store) -> None:
    record = memory("no vector yet")
    store.insert(record, None, terms(record.value))
    stored = store.get(ACCOUNT, record.id)
    assert stored is not None and stored.model is None


def test_row_numbers_of_deleted_memories_are_never_handed_out_again(store: Store) -> None:
    first, old = put(store, "first")
    last, newest = put(store, "last")
    store.delete(ACCOUNT, [newest.id])
    store.delete(ACCOUNT, [old.id])
    again, _ = put(store, "after the deletes")
    assert again not in (first, last)


def test_only_one_live_memory_may_hold_a_scope_and_key(store: Store) -> None:
    _, first = put(store, "blue", key="colour")
    with pytest.raises(Conflict):
        put(store, "green", key="colour")
    assert store.get_by_key(ACCOUNT, SCOPE, "colour") == first
    assert store.ids_by_key(ACCOUNT, SCOPE, "colour") == [first.id]


def test_the_same_key_may_live_once_per_scope_and_per_account(store: Store) -> None:
    put(store, "blue", key="colour")
    put(store, "green", key="colour", scope="other")
    put(store, "red", key="colour", account=OTHER_ACCOUNT)
    assert store.get_by_key(ACCOUNT, "other", "colour").value == "green"
    assert store.get_by_key(OTHER_ACCOUNT, SCOPE, "colour").value == "red"


def test_a_superseded_keyed_memory_frees_its_key(store: Store) -> None:
    _, old = put(store, "blue", key="colour")
    _, new = put(store, "navy", key="colour-2")
    store.supersede(ACCOUNT, old.id, new.id)
    _, third = put(store, "teal", key="colour")
    assert store.get_by_key(ACCOUNT, SCOPE, "colour") == third
    assert sorted(store.ids_by_key(ACCOUNT, SCOPE, "colour")) == sorted([old.id, third.id])


def test_replace_overwrites_the_mutable_fields_and_keeps_identity(store: Store) -> None:
    rowid, record = put(store, "lives in Lyon", key="city", at=1_000)
    changed = replace(
        record,
        value="lives in Paris",
        metadata={"moved": True},
        importance=0.9,
        updated_at=5_000,
        content_hash="new-hash",
        source="extracted",
    )
    store.replace(changed, unit("paris"), terms(changed.value))
    assert store.get(ACCOUNT, record.id) == changed
    assert store.get_by_key(ACCOUNT, SCOPE, "city") == changed
    assert store.lexical(ACCOUNT, SCOPE, ["paris"], 5)[0][0] == rowid
    assert store.lexical(ACCOUNT, SCOPE, ["lyon"], 5) == []


def test_replace_without_vector_or_terms_keeps_the_old_ones(store: Store) -> None:
    rowid, record = put(store, "lives in Lyon")
    store.replace(replace(record, metadata={"checked": True}, updated_at=2_000), None, None)
    assert store.lexical(ACCOUNT, SCOPE, ["lyon"], 5)[0][0] == rowid
    assert store.get(ACCOUNT, record.id).model == MODEL
    changes, _ = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    assert changes[-1].vector is not None and np.allclose(changes[-1].vector, unit("lives in Lyon"))


def test_replace_of_another_accounts_memory_changes_nothing(store: Store) -> None:
    _, record = put(store, "mine")
    store.replace(replace(record, value="stolen", account=OTHER_ACCOUNT), unit(9), ["stolen"])
    assert store.get(ACCOUNT, record.id) == record


def test_replace_onto_a_key_another_live_memory_holds_is_a_conflict(store: Store) -> None:
    put(store, "blue", key="colour")
    _, other = put(store, "round", key="shape")
    with pytest.raises(Conflict):
        store.replace(replace(other, key="colour"), None, None)
    assert store.get(ACCOUNT, other.id) == other


def test_a_superseded_memory_stays_readable_by_id_but_leaves_the_live_set(store: Store) -> None:
    old_row, old = put(store, "meeting on monday", key="meeting")
    _, new = put(store, "meeting on tuesday")
    store.supersede(ACCOUNT, old.id, new.id)
    assert store.get(ACCOUNT, old.id) == replace(old, superseded_by=new.id)
    assert store.get_by_key(ACCOUNT, SCOPE, "meeting") is None
    assert store.get_many_by_rowid(ACCOUNT, [old_row]) == {}
    assert store.rank_fields(ACCOUNT, [old_row]) == {}
    assert store.find_by_hashes(ACCOUNT, SCOPE, [old.content_hash]) == {}
    assert [r.id for r in store.iter_records(ACCOUNT)] == [new.id]
    assert store.count_live([ACCOUNT]) == 1


def test_delete_removes_the_memory_its_index_entries_and_its_history(store: Store) -> None:
    rowid, record = put(store, "secret plan", key="plan")
    store.add_history(history_of(record, "updated", 2_000), ACCOUNT)
    assert store.delete(ACCOUNT, [record.id]) == 1
    assert store.get(ACCOUNT, record.id) is None
    assert store.ids_by_key(ACCOUNT, SCOPE, "plan") == []
    assert store.lexical(ACCOUNT, SCOPE, ["secret"], 5) == []
    assert store.terms_for([rowid]) == {}
    assert store.models() == {}
    assert store.history(ACCOUNT, memory_id=record.id, scope=None, key=None) == []
    assert store.history(ACCOUNT, memory_id=None, scope=SCOPE, key="plan") == []


def test_delete_keeping_history_leaves_the_past_values_readable(store: Store) -> None:
    _, record = put(store, "secret plan", key="plan")
    entry = history_of(record, "updated", 2_000)
    store.add_history(entry, ACCOUNT)
    assert store.delete(ACCOUNT, [record.id], keep_history=True) == 1
    assert store.get(ACCOUNT, record.id) is None
    assert store.history(ACCOUNT, memory_id=record.id, scope=None, key=None) == [entry]


def test_delete_counts_only_the_callers_own_existing_memories(store: Store) -> None:
    _, mine = put(store, "mine")
    _, theirs = put(store, "theirs", account=OTHER_ACCOUNT)
    assert store.delete(ACCOUNT, [mine.id, theirs.id, "unknown", mine.id]) == 1
    assert store.get(OTHER_ACCOUNT, theirs.id) == theirs
    assert store.delete(ACCOUNT, []) == 0


def test_delete_of_many_memories_at_once(store: Store) -> None:
    records = [put(store, f"bulk fact {i}")[1] for i in range(600)]
    assert store.delete(ACCOUNT, [r.id for r in records]) == 600
    assert store.count_live([ACCOUNT]) == 0
    assert store.term_stats(["bulk"]) == (0, {"bulk": 0})


def test_delete_scope_removes_one_scope_with_its_history_and_leaves_the_rest(store: Store) -> None:
    _, gone = put(store, "scoped fact", key="k", scope="drop-me")
    store.add_history(history_of(gone, "updated", 2_000), ACCOUNT)
    _, kept = put(store, "kept fact", key="k")
    store.add_history(history_of(kept, "updated", 2_000), ACCOUNT)
    _, theirs = put(store, "their fact", scope="drop-me", account=OTHER_ACCOUNT)
    assert store.delete_scope(ACCOUNT, "drop-me") == 1
    assert store.get(ACCOUNT, gone.id) is None
    assert not store.scope_exists(ACCOUNT, "drop-me")
    assert store.history(ACCOUNT, memory_id=None, scope="drop-me", key="k") == []
    assert store.get(ACCOUNT, kept.id) == kept
    assert len(store.history(ACCOUNT, memory_id=kept.id, scope=None, key=None)) == 1
    assert store.get(OTHER_ACCOUNT, theirs.id) == theirs
    assert store.scope_exists(OTHER_ACCOUNT, "drop-me")


def test_a_scope_emptied_and_written_again_in_one_transaction_still_exists(store: Store) -> None:
    # A restore: delete the scope, then write it anew, as one unit of work.
    with store.transaction():
        put(store, "old fact", scope="restored")
        assert store.delete_scope(ACCOUNT, "restored") == 1
        _, new = put(store, "new fact", scope="restored")
    assert store.scope_exists(ACCOUNT, "restored") and store.get(ACCOUNT, new.id) == new


def test_delete_scope_of_none_removes_the_whole_account_and_nothing_else(store: Store) -> None:
    for scope in ("a", "b", "c"):
        _, record = put(store, f"fact in {scope}", scope=scope)
        store.add_history(history_of(record, "updated", 2_000), ACCOUNT)
    store.touch_scope(ACCOUNT, "empty")
    _, theirs = put(store, "their fact", scope="a", account=OTHER_ACCOUNT)
    assert store.delete_scope(ACCOUNT, None) == 3
    assert store.count_live([ACCOUNT]) == 0
    assert store.scopes(ACCOUNT) == []
    assert store.namespaces(ACCOUNT) == []
    assert list(store.iter_records(ACCOUNT)) == []
    assert store.get(OTHER_ACCOUNT, theirs.id) == theirs
    assert store.scopes(OTHER_ACCOUNT) == ["a"]


def test_history_by_id_and_by_key_is_oldest_first(store: Store) -> None:
    _, record = put(store, "v1", key="k")
    entries = [
        history_of(replace(record, value="v1"), "updated", 2_000),
        history_of(replace(record, value="v2"), "updated", 3_000),
        history_of(replace(record, value="v3"), "superseded", 3_000, by="new-id"),
    ]
    for entry in (entries[1], entries[0], entries[2]):
        store.add_history(entry, ACCOUNT)
    by_id = store.history(ACCOUNT, memory_id=record.id, scope=None, key=None)
    assert [e.value for e in by_id] == ["v1", "v2", "v3"]
    assert by_id[2] == entries[2]
    by_key = store.history(ACCOUNT, memory_id=None, scope=SCOPE, key="k")
    assert by_key == by_id


def test_history_is_per_account_and_per_scope(store: Store) -> None:
    _, record = put(store, "v1", key="k")
    store.add_history(history_of(record, "updated", 2_000), ACCOUNT)
    assert store.history(OTHER_ACCOUNT, memory_id=record.id, scope=None, key=None) == []
    assert store.history(OTHER_ACCOUNT, memory_id=None, scope=SCOPE, key="k") == []
    assert store.history(ACCOUNT, memory_id=None, scope="elsewhere", key="k") == []
