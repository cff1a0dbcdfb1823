"""The recall log: access history event by event, which consolidation reads for activation and co-recall."""

from __future__ import annotations

from store_support import ACCOUNT, OTHER_ACCOUNT, SCOPE, put

from memorylayer.store import Store


def test_each_recall_is_logged_once_per_memory_under_one_recall_id(store: Store) -> None:
    _, tea = put(store, "tea")
    _, coffee = put(store, "coffee")
    _, water = put(store, "water")
    store.mark_recalled(ACCOUNT, [tea.id, coffee.id], 5_000)
    store.mark_recalled(ACCOUNT, [tea.id], 7_000)
    logged = store.recalls(ACCOUNT, SCOPE, 0)
    assert [(memory_id, at) for _, memory_id, at in logged if at == 5_000] in (
        [(tea.id, 5_000), (coffee.id, 5_000)],
        [(coffee.id, 5_000), (tea.id, 5_000)],
    )
    first, second = {r for r, _, at in logged if at == 5_000}, {r for r, _, at in logged if at == 7_000}
    assert len(first) == 1 and len(second) == 1 and first != second
    assert logged[-1][1:] == (tea.id, 7_000)
    assert [m for _, m, _ in store.recalls(ACCOUNT, SCOPE, 6_000)] == [tea.id]
    assert store.get(ACCOUNT, tea.id).recall_count == 2  # type: ignore[union-attr]
    assert water.id not in {m for _, m, _ in logged}


def test_the_log_is_kept_per_account_and_scope(store: Store) -> None:
    _, mine = put(store, "tea")
    _, theirs = put(store, "tea", account=OTHER_ACCOUNT)
    _, elsewhere = put(store, "tea", scope="work")
    store.mark_recalled(ACCOUNT, [mine.id, elsewhere.id, theirs.id], 5_000)  # another account's id is ignored
    assert [m for _, m, _ in store.recalls(ACCOUNT, SCOPE, 0)] == [mine.id]
    assert [m for _, m, _ in store.recalls(ACCOUNT, "work", 0)] == [elsewhere.id]
    assert store.recalls(OTHER_ACCOUNT, SCOPE, 0) == []


def test_a_deleted_memory_leaves_the_log_and_a_superseded_one_is_not_read(store: Store) -> None:
    _, gone = put(store, "tea")
    _, old = put(store, "coffee")
    _, new = put(store, "black coffee")
    store.mark_recalled(ACCOUNT, [gone.id, old.id, new.id], 5_000)
    store.delete(ACCOUNT, [gone.id])
    store.supersede(ACCOUNT, old.id, new.id)
    assert [m for _, m, _ in store.recalls(ACCOUNT, SCOPE, 0)] == [new.id]


def test_forgetting_drops_only_older_recalls_of_that_scope(store: Store) -> None:
    _, tea = put(store, "tea")
    _, work = put(store, "tea", scope="work")
    for at in (1_000, 2_000, 3_000):
        store.mark_recalled(ACCOUNT, [tea.id, work.id], at)
    assert store.forget_recalls(ACCOUNT, SCOPE, 2_500) == 2
    assert [at for _, _, at in store.recalls(ACCOUNT, SCOPE, 0)] == [3_000]
    assert len(store.recalls(ACCOUNT, "work", 0)) == 3


def test_pruning_drops_the_oldest_recalls_of_every_account_in_bounded_batches(store: Store) -> None:
    _, tea = put(store, "tea")
    _, theirs = put(store, "tea", account=OTHER_ACCOUNT)
    for at in (1_000, 2_000, 3_000, 4_000):
        store.mark_recalled(ACCOUNT, [tea.id], at)
        store.mark_recalled(OTHER_ACCOUNT, [theirs.id], at + 1)
    assert store.prune_recalls(3_500, limit=4) == 4  # the four oldest rows, whichever account holds them
    assert [at for _, _, at in store.recalls(ACCOUNT, SCOPE, 0)] == [3_000, 4_000]
    assert [at for _, _, at in store.recalls(OTHER_ACCOUNT, SCOPE, 0)] == [3_001, 4_001]
    assert store.prune_recalls(3_500, limit=4) == 2
    assert store.prune_recalls(3_500) == 0
    assert [at for _, _, at in store.recalls(ACCOUNT, SCOPE, 0)] == [4_000]
