"""Conformance: expiry and validity in the store, on every backend."""

from __future__ import annotations

from dataclasses import replace

from store_support import ACCOUNT, SCOPE, memory, terms, unit

from memorylayer.store import Store
from memorylayer.store.base import ListQuery
from memorylayer.types import HistoryEntry, now_ms


def put_expiring(store: Store, value: str, expires_at: int | None, **fields) -> str:
    record = replace(memory(value, **fields), expires_at=expires_at)
    store.insert(record, unit(value), terms(value))
    return record.id


def test_a_row_past_its_expiry_is_in_no_read_and_the_sweep_takes_only_it(store: Store) -> None:
    now = now_ms()
    gone = put_expiring(store, "gone reminder", now - 1, key="k")
    later = put_expiring(store, "later reminder", now + 3_600_000)
    kept = put_expiring(store, "kept reminder", None)
    query = ListQuery(account=ACCOUNT, scope=SCOPE)
    assert {m.id for m in store.list(query)} == {later, kept} and store.count(query) == 2
    assert store.count_live([ACCOUNT]) == 2 and store.namespaces(ACCOUNT)[0].count == 2
    assert store.get(ACCOUNT, gone) is None and store.get_by_key(ACCOUNT, SCOPE, "k") is None
    assert gone not in {m.id for m in store.iter_records(ACCOUNT)}
    rowids = [rowid for rowid, _ in store.lexical(ACCOUNT, SCOPE, ["reminder"], 10)]
    assert len(rowids) == 2 and set(store.rank_fields(ACCOUNT, rowids)) == set(rowids)
    assert [m.id for m in store.list(ListQuery(account=ACCOUNT, expiring=True))] == [later]
    assert store.purge_expired(now) == 1
    assert store.purge_expired(now) == 0
    assert store.ids_by_key(ACCOUNT, SCOPE, "k") == []  # the row itself is gone, not only hidden
    assert store.purge_expired(now + 3_600_000) == 1 and store.count_live([ACCOUNT]) == 1


def test_the_sweep_can_be_narrowed_to_one_key_and_leaves_other_accounts_alone(store: Store) -> None:
    now = now_ms()
    put_expiring(store, "a", now - 1, key="one")
    put_expiring(store, "b", now - 1, key="two")
    put_expiring(store, "c", now - 1, key="one", account="other")
    assert store.purge_expired(now, account=ACCOUNT, scope=SCOPE, key="one") == 1
    assert store.ids_by_key(ACCOUNT, SCOPE, "two") != [] and store.ids_by_key("other", SCOPE, "one") != []
    assert store.purge_expired(now, limit=1) == 1 and store.purge_expired(now) == 1


def test_valid_at_returns_superseded_rows_and_earlier_keyed_values_with_their_intervals(store: Store) -> None:
    old = memory("User lives in Paris.", at=1_000)
    new = memory("User lives in Berlin.", at=5_000)
    for record in (old, new):
        store.insert(replace(record, valid_from=record.created_at), unit(record.value), terms(record.value))
    store.supersede(ACCOUNT, old.id, new.id, valid_to=5_000)
    keyed = replace(memory("pro", key="plan", at=1_000), valid_from=3_000)
    store.insert(keyed, unit("pro"), terms("pro"))
    store.add_history(
        HistoryEntry(keyed.id, SCOPE, "plan", "free", {}, 0.5, "explicit", "updated", 3_000, None, 1_000, 3_000),
        ACCOUNT,
    )
    at_2000 = {m.value: (m.valid_from, m.valid_to) for m in store.valid_at(ACCOUNT, SCOPE, 2_000)}
    assert at_2000 == {"User lives in Paris.": (1_000, 5_000), "free": (1_000, 3_000)}
    at_6000 = {m.value: (m.valid_from, m.valid_to) for m in store.valid_at(ACCOUNT, SCOPE, 6_000)}
    assert at_6000 == {"User lives in Berlin.": (5_000, None), "pro": (3_000, None)}
    (then,) = store.valid_at(ACCOUNT, SCOPE, 2_000, key="plan")
    assert (then.id, then.value, then.model) == (keyed.id, "free", None)
    assert store.valid_at(ACCOUNT, SCOPE, 500) == []
    assert store.get(ACCOUNT, old.id).valid_to == 5_000
