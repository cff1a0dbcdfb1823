"""Lookups by key, hash and row number; listing with filters and exact pagination; counts and scopes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from store_support import ACCOUNT, MODEL, OTHER_ACCOUNT, SCOPE, content_hash, ids, memory, put, terms, unit

from memorylayer.store import Store
from memorylayer.store.base import ListQuery, RankFields
from memorylayer.types import MemoryRecord, Namespace


def test_get_by_key_finds_the_live_memory_of_that_scope_and_account(store: Store) -> None:
    _, record = put(store, "tea", key="drink")
    put(store, "coffee", key="drink", scope="work")
    assert store.get_by_key(ACCOUNT, SCOPE, "drink") == record
    assert store.get_by_key(ACCOUNT, SCOPE, "food") is None
    assert store.get_by_key(OTHER_ACCOUNT, SCOPE, "drink") is None


def test_ids_by_key_lists_live_and_superseded_rows_of_the_key(store: Store) -> None:
    _, old = put(store, "tea", key="drink")
    _, new = put(store, "green tea")
    store.supersede(ACCOUNT, old.id, new.id)
    _, current = put(store, "coffee", key="drink")
    assert sorted(store.ids_by_key(ACCOUNT, SCOPE, "drink")) == sorted([old.id, current.id])
    assert store.ids_by_key(OTHER_ACCOUNT, SCOPE, "drink") == []
    assert store.ids_by_key(ACCOUNT, "work", "drink") == []


def test_find_by_hashes_returns_live_memories_of_the_scope_keyed_first(store: Store) -> None:
    put(store, "same text")
    _, keyed = put(store, "same text", key="k")
    _, other = put(store, "other text")
    put(store, "same text", scope="elsewhere", key="k2")
    put(store, "same text", account=OTHER_ACCOUNT)
    found = store.find_by_hashes(ACCOUNT, SCOPE, [content_hash("same text"), content_hash("other text"), "nope"])
    assert found == {content_hash("same text"): keyed, content_hash("other text"): other}


def test_find_by_hashes_prefers_the_oldest_unkeyed_memory_and_skips_superseded_ones(store: Store) -> None:
    _, first = put(store, "dup")
    _, second = put(store, "dup")
    assert store.find_by_hashes(ACCOUNT, SCOPE, [content_hash("dup")])[content_hash("dup")] == first
    store.supersede(ACCOUNT, first.id, second.id)
    assert store.find_by_hashes(ACCOUNT, SCOPE, [content_hash("dup")])[content_hash("dup")].id == second.id


def test_find_by_hashes_takes_more_hashes_than_one_query_holds(store: Store) -> None:
    records = [put(store, f"fact {i}")[1] for i in range(600)]
    found = store.find_by_hashes(ACCOUNT, SCOPE, [r.content_hash for r in records] * 2)
    assert len(found) == 600
    assert store.find_by_hashes(ACCOUNT, SCOPE, []) == {}


def test_rank_fields_and_rows_by_number_cover_live_memories_of_the_account_only(store: Store) -> None:
    row, record = put(store, "ranked", importance=0.7, at=1_000, updated_at=3_000, source="imported")
    old_row, old = put(store, "superseded")
    store.supersede(ACCOUNT, old.id, record.id)
    their_row, _ = put(store, "theirs", account=OTHER_ACCOUNT)
    rows = [row, old_row, their_row, 10_000_000]
    assert store.rank_fields(ACCOUNT, rows) == {row: RankFields(row, record.id, "imported", 0.7, 1_000, 3_000, 0)}
    assert store.get_many_by_rowid(ACCOUNT, rows) == {row: record}
    assert store.rank_fields(ACCOUNT, []) == {} and store.get_many_by_rowid(ACCOUNT, []) == {}


def test_rows_by_number_take_more_rows_than_one_query_holds(store: Store) -> None:
    rows = [put(store, f"fact {i}")[0] for i in range(600)]
    assert len(store.get_many_by_rowid(ACCOUNT, rows)) == 600
    assert len(store.rank_fields(ACCOUNT, rows)) == 600


# -- list ---------------------------------------------------------------------------------------------
def _seed_for_listing(store: Store) -> list[MemoryRecord]:
    """25 live memories with ties in every order column and some never recalled (NULL last_recalled_at)."""
    records = []
    for i in range(25):
        record = memory(
            f"item {i}",
            scope=SCOPE if i % 3 else "other",
            at=1_000 + (i // 4) * 10,
            updated_at=5_000 - (i // 3) * 10,
            importance=[0.2, 0.5, 0.9][i % 3],
            source="imported" if i % 5 == 0 else "explicit",
        )
        store.insert(record, unit(i), terms(record.value))
        records.append(record)
    recalled = [records[i].id for i in range(0, 25, 2)]
    store.mark_recalled(ACCOUNT, recalled[:6], 9_000)
    store.mark_recalled(ACCOUNT, recalled[6:], 8_000)
    superseded = put(store, "superseded item", at=1_005)[1]
    store.supersede(ACCOUNT, superseded.id, records[0].id)
    put(store, "their item", account=OTHER_ACCOUNT)
    return [store.get(ACCOUNT, r.id) for r in records]


def _expected(records: list[MemoryRecord], order_by: str, order_dir: str) -> list[str]:
    present = [r for r in records if getattr(r, order_by) is not None]
    absent = [r for r in records if getattr(r, order_by) is None]
    present.sort(key=lambda r: (getattr(r, order_by), r.id), reverse=order_dir == "desc")
    absent.sort(key=lambda r: r.id, reverse=order_dir == "desc")
    return ids(present) + ids(absent)


def _pages(store: Store, query: ListQuery) -> list[list[MemoryRecord]]:
    pages, after = [], None
    while True:
        page = store.list(replace(query, after=after))
        if not page:
            return pages
        pages.append(page)
        last = page[-1]
        after = (getattr(last, query.order_by), last.id)


@pytest.mark.parametrize("order_by", ["updated_at", "created_at", "importance", "last_recalled_at"])
@pytest.mark.parametrize("order_dir", ["asc", "desc"])
def test_list_pages_follow_the_order_exactly_with_nulls_last(store: Store, order_by: str, order_dir: str) -> None:
    records = _seed_for_listing(store)
    query = ListQuery(account=ACCOUNT, order_by=order_by, order_dir=order_dir, limit=4)
    pages = _pages(store, query)
    assert [len(p) for p in pages] == [4] * 6 + [1]
    assert [r.id for page in pages for r in page] == _expected(records, order_by, order_dir)
    whole = store.list(replace(query, limit=100))
    assert ids(whole) == _expected(records, order_by, order_dir)


def test_list_pages_within_a_scope_neither_repeat_nor_skip(store: Store) -> None:
    records = _seed_for_listing(store)
    in_scope = [r for r in records if r.scope == SCOPE]
    query = ListQuery(account=ACCOUNT, scope=SCOPE, order_by="last_recalled_at", order_dir="asc", limit=3)
    listed = [r.id for page in _pages(store, query) for r in page]
    assert listed == _expected(in_scope, "last_recalled_at", "asc")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"scope": "other"}, lambda r: r.scope == "other"),
        ({"source": "imported"}, lambda r: r.source == "imported"),
        ({"created_after": 1_020}, lambda r: r.created_at > 1_020),
        ({"created_before": 1_020}, lambda r: r.created_at < 1_020),
        ({"created_after": 1_000, "created_before": 1_030}, lambda r: 1_000 < r.created_at < 1_030),
        ({"search": "ITEM 1"}, lambda r: r.value.startswith("item 1")),
        ({"scope": SCOPE, "source": "imported"}, lambda r: r.scope == SCOPE and r.source == "imported"),
    ],
)
def test_list_and_count_apply_every_filter(store: Store, filters: dict[str, Any], expected: Any) -> None:
    records = _seed_for_listing(store)
    query = ListQuery(account=ACCOUNT, order_by="created_at", order_dir="asc", limit=100, **filters)
    want = _expected([r for r in records if expected(r)], "created_at", "asc")
    assert want, "the filter should match something"
    assert ids(store.list(query)) == want
    assert store.count(query) == len(want)


def test_list_search_matches_keys_and_treats_wildcards_literally(store: Store) -> None:
    _, by_key = put(store, "prefers window seats", key="travel_seat")
    _, percent = put(store, "discount of 100% applied")
    put(store, "travelXseat is not a match")
    put(store, "discount of 100 euros")

    def found(search: str) -> list[str]:
        return ids(store.list(ListQuery(account=ACCOUNT, search=search, limit=10)))

    assert found("TRAVEL_SEAT") == [by_key.id]
    assert found("100%") == [percent.id]
    assert found("nothing like this") == []


def test_list_key_search_matches_only_keys_case_insensitively_and_wildcards_literally(store: Store) -> None:
    _, seat = put(store, "prefers window seats", key="travel_seat")
    _, other = put(store, "travel seat in the value only")
    _, literal = put(store, "a keyed fact", key="100%_done")
    put(store, "another keyed fact", key="100x_done")

    def found(key_search: str, **filters: Any) -> list[str]:
        query = ListQuery(account=ACCOUNT, key_search=key_search, limit=10, **filters)
        assert store.count(query) == len(store.list(query))
        return ids(store.list(query))

    assert found("SEAT") == [seat.id] and other.id not in found("travel")
    assert found("100%_") == [literal.id]
    assert found("seat", search="window") == [seat.id] and found("seat", search="aisle") == []


def test_count_ignores_the_page_and_the_cursor(store: Store) -> None:
    records = _seed_for_listing(store)
    query = ListQuery(account=ACCOUNT, limit=2, after=(records[3].updated_at, records[3].id))
    assert store.count(query) == 25
    assert store.count(ListQuery(account=OTHER_ACCOUNT)) == 1
    assert store.count(ListQuery(account="nobody")) == 0


def test_count_live_sums_accounts_and_optionally_one_scope(store: Store) -> None:
    put(store, "a1")
    put(store, "a2", scope="other")
    old = put(store, "a3")[1]
    store.supersede(ACCOUNT, old.id, "someone")
    put(store, "b1", account=OTHER_ACCOUNT)
    put(store, "c1", account="acct-c")
    assert store.count_live([ACCOUNT]) == 2
    assert store.count_live([ACCOUNT, OTHER_ACCOUNT]) == 3
    assert store.count_live([ACCOUNT, OTHER_ACCOUNT], SCOPE) == 2
    assert store.count_live([]) == 0


def test_namespaces_count_live_memories_and_their_latest_update_per_scope(store: Store) -> None:
    put(store, "one", scope="b", updated_at=3_000)
    put(store, "two", scope="b", updated_at=7_000)
    put(store, "three", scope="a", updated_at=2_000)
    old = put(store, "four", scope="a", updated_at=9_000)[1]
    store.supersede(ACCOUNT, old.id, "someone")
    store.touch_scope(ACCOUNT, "empty")
    put(store, "theirs", scope="z", account=OTHER_ACCOUNT)
    assert store.namespaces(ACCOUNT) == [Namespace("a", 1, 2_000), Namespace("b", 2, 7_000)]


def test_a_touched_scope_exists_even_when_empty_and_scopes_are_per_account(store: Store) -> None:
    assert not store.scope_exists(ACCOUNT, "fresh")
    store.touch_scope(ACCOUNT, "fresh")
    store.touch_scope(ACCOUNT, "fresh")
    put(store, "written", scope="written")
    assert store.scope_exists(ACCOUNT, "fresh") and store.scope_exists(ACCOUNT, "written")
    assert not store.scope_exists(OTHER_ACCOUNT, "fresh")
    assert store.scopes(ACCOUNT) == ["fresh", "written"]
    assert store.scopes(OTHER_ACCOUNT) == []


def test_a_scope_stays_known_after_its_last_memory_is_deleted(store: Store) -> None:
    _, record = put(store, "only one", scope="kept")
    store.delete(ACCOUNT, [record.id])
    assert store.scope_exists(ACCOUNT, "kept")


# -- access history, iteration, re-embedding ----------------------------------------------------------
def test_mark_recalled_counts_recalls_without_counting_as_a_change(store: Store) -> None:
    _, record = put(store, "recalled", updated_at=2_000)
    _, other = put(store, "not recalled")
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    store.mark_recalled(ACCOUNT, [record.id], 5_000)
    store.mark_recalled(ACCOUNT, [record.id], 6_000)
    store.mark_recalled(OTHER_ACCOUNT, [record.id], 7_000)
    store.mark_recalled(ACCOUNT, [], 8_000)
    after = store.get(ACCOUNT, record.id)
    assert after == replace(record, last_recalled_at=6_000, recall_count=2)
    assert store.get(ACCOUNT, other.id) == other
    assert store.vector_changes(ACCOUNT, SCOPE, high, MODEL) == ([], high)


def test_iter_records_yields_live_memories_oldest_row_first(store: Store) -> None:
    _, a = put(store, "a", scope="x")
    _, b = put(store, "b", scope="y")
    _, c = put(store, "c", scope="x")
    store.supersede(ACCOUNT, a.id, c.id)
    _, d = put(store, "d", scope="x")
    put(store, "theirs", scope="x", account=OTHER_ACCOUNT)
    assert list(store.iter_records(ACCOUNT)) == [b, c, d]
    assert list(store.iter_records(ACCOUNT, "x")) == [c, d]
    assert list(store.iter_records(ACCOUNT, "none")) == []


def test_reindex_lists_memories_without_a_vector_of_the_model_and_set_vectors_fills_them(store: Store) -> None:
    current, _ = put(store, "current model")
    stale, _ = put(store, "older model", model="old-model")
    missing_record = memory("no vector", model=None)
    missing = store.insert(missing_record, None, terms(missing_record.value))
    theirs, _ = put(store, "their older model", model="old-model", account=OTHER_ACCOUNT)
    assert store.models() == {MODEL: 1, "old-model": 2}
    todo = list(store.iter_for_reindex(MODEL))
    assert todo == [(stale, "older model"), (missing, "no vector"), (theirs, "their older model")]
    _, high = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    store.set_vectors([(rowid, unit(value)) for rowid, value in todo], MODEL)
    assert list(store.iter_for_reindex(MODEL)) == []
    assert store.models() == {MODEL: 4}
    assert store.get(ACCOUNT, missing_record.id).model == MODEL
    changed, _ = store.vector_changes(ACCOUNT, SCOPE, high, MODEL)
    assert sorted(c.rowid for c in changed) == [stale, missing]
    assert current not in [c.rowid for c in changed]


def test_set_vectors_skips_memories_deleted_since_they_were_listed(store: Store) -> None:
    kept, _ = put(store, "kept", model="old-model")
    _, gone = put(store, "deleted meanwhile", model="old-model")  # the newest row, whose number could be reused
    todo = list(store.iter_for_reindex(MODEL))
    store.delete(ACCOUNT, [gone.id])
    _, newcomer = put(store, "written meanwhile")
    store.set_vectors([(rowid, unit(value)) for rowid, value in todo], MODEL)
    assert store.models() == {MODEL: 2}
    assert list(store.iter_for_reindex(MODEL)) == []
    changes, _ = store.vector_changes(ACCOUNT, SCOPE, 0, MODEL)
    by_row = {c.rowid: c.vector for c in changes}
    assert by_row[kept] is not None and (by_row[kept] @ unit("kept")) == pytest.approx(1.0, abs=1e-5)
    newcomer_row = next(r for r, m in store.get_many_by_rowid(ACCOUNT, list(by_row)).items() if m.id == newcomer.id)
    assert (by_row[newcomer_row] @ unit("written meanwhile")) == pytest.approx(1.0, abs=1e-5)


def test_find_by_slot_returns_live_unkeyed_memories_of_the_scope_with_that_slot_oldest_first(store: Store) -> None:
    _, paris = put(store, "User lives in Paris.", source="extracted", metadata={"slot": "residence"}, at=1_000)
    _, rome = put(store, "User lives in Rome.", source="extracted", metadata={"slot": "residence"}, at=2_000)
    _, gone = put(store, "User lives in Oslo.", source="extracted", metadata={"slot": "residence"}, at=500)
    store.supersede(ACCOUNT, gone.id, rome.id)
    put(store, "Paris", key="city", metadata={"slot": "residence"})
    put(store, "User works at Acme.", source="extracted", metadata={"slot": "employer"})
    put(store, "User lives in Lima.", source="extracted", metadata={"slot": "residence"}, scope="work")
    put(store, "User lives in Kyiv.", source="extracted", metadata={"slot": "residence"}, account=OTHER_ACCOUNT)
    assert ids(store.find_by_slot(ACCOUNT, SCOPE, "residence")) == [paris.id, rome.id]
    assert store.find_by_slot(ACCOUNT, SCOPE, "diet") == []
