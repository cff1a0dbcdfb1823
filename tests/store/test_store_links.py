"""The link store: weighted links between memories of one scope, which weave writes and explore and ripple follow."""

from __future__ import annotations

import pytest
from store_support import ACCOUNT, OTHER_ACCOUNT, SCOPE, put

from memorylayer.store import Backend, Store
from memorylayer.types import Link


def test_links_are_read_from_either_end_and_symmetric_ones_are_stored_once(store: Store) -> None:
    _, a = put(store, "Caroline went to Boston")
    _, b = put(store, "Caroline likes tea")
    _, c = put(store, "a summary of both")
    wrote = store.put_links(
        ACCOUNT,
        SCOPE,
        [
            Link(b.id, a.id, "entity", 0.5, "caroline"),
            Link(a.id, b.id, "entity", 0.7, "caroline"),  # the same symmetric link again: the last weight holds
            Link(c.id, a.id, "derived"),
            Link(c.id, b.id, "derived"),
            Link(a.id, a.id, "entity"),  # a self-link is no link
        ],
        1_000,
    )
    assert wrote == 3
    low, high = sorted([a.id, b.id])
    assert set(store.links_of(ACCOUNT, [a.id])) == {
        Link(low, high, "entity", 0.7, "caroline"),
        Link(c.id, a.id, "derived", 1.0, ""),
    }
    assert set(store.links_of(ACCOUNT, [a.id, b.id], kinds=["derived"])) == {
        Link(c.id, a.id, "derived"),
        Link(c.id, b.id, "derived"),
    }
    assert len(store.links_of(ACCOUNT, [a.id, b.id])) == 3  # the link between the two is listed once
    assert store.count_links(ACCOUNT, SCOPE) == {"entity": 1, "derived": 2}


def test_rewriting_a_link_updates_its_weight_and_label(store: Store) -> None:
    _, a = put(store, "tea")
    _, b = put(store, "coffee")
    store.put_links(ACCOUNT, SCOPE, [Link(a.id, b.id, "co_recall", 1.0)], 1_000)
    assert store.put_links(ACCOUNT, SCOPE, [Link(a.id, b.id, "co_recall", 3.0, "3 recalls")], 2_000) == 1
    assert store.links_of(ACCOUNT, [b.id]) == [Link(*sorted([a.id, b.id]), "co_recall", 3.0, "3 recalls")]


def test_a_link_never_crosses_accounts_or_scopes(store: Store) -> None:
    _, mine = put(store, "tea")
    _, also_mine = put(store, "coffee")
    _, theirs = put(store, "tea", account=OTHER_ACCOUNT)
    _, elsewhere = put(store, "tea", scope="work")
    wrote = store.put_links(
        ACCOUNT,
        SCOPE,
        [Link(mine.id, theirs.id, "entity"), Link(mine.id, elsewhere.id, "entity"), Link(mine.id, "nope", "entity")],
        1_000,
    )
    assert wrote == 0
    assert store.links_of(ACCOUNT, [mine.id]) == []
    store.put_links(ACCOUNT, SCOPE, [Link(mine.id, also_mine.id, "entity")], 1_000)
    assert store.links_of(OTHER_ACCOUNT, [mine.id, also_mine.id]) == []  # another account reads none of them
    assert store.count_links(ACCOUNT, "work") == {}


def test_a_deleted_memory_takes_its_links_and_a_superseded_one_keeps_them(store: Store) -> None:
    _, a = put(store, "tea")
    _, b = put(store, "coffee")
    _, c = put(store, "black coffee")
    store.put_links(ACCOUNT, SCOPE, [Link(a.id, b.id, "entity"), Link(c.id, b.id, "supersedes")], 1_000)
    store.supersede(ACCOUNT, b.id, c.id)
    assert store.supersessions(ACCOUNT, SCOPE) == [(c.id, b.id)] and store.supersessions(ACCOUNT, "work") == []
    assert len(store.links_of(ACCOUNT, [b.id])) == 2
    store.delete(ACCOUNT, [a.id])
    assert store.links_of(ACCOUNT, [b.id]) == [Link(c.id, b.id, "supersedes")]
    store.delete_scope(ACCOUNT, SCOPE)
    assert store.count_links(ACCOUNT, SCOPE) == {}


def test_dropping_links_removes_only_those_kinds_of_that_scope(store: Store) -> None:
    _, a = put(store, "tea")
    _, b = put(store, "coffee")
    _, x = put(store, "tea", scope="work")
    _, y = put(store, "coffee", scope="work")
    store.put_links(ACCOUNT, SCOPE, [Link(a.id, b.id, "entity"), Link(a.id, b.id, "co_recall")], 1_000)
    store.put_links(ACCOUNT, "work", [Link(x.id, y.id, "entity")], 1_000)
    assert store.drop_links(ACCOUNT, SCOPE, ["entity"]) == 1
    assert store.count_links(ACCOUNT, SCOPE) == {"co_recall": 1}
    assert store.count_links(ACCOUNT, "work") == {"entity": 1}
    assert store.drop_links(ACCOUNT, SCOPE, []) == 0


def test_links_are_written_in_the_callers_transaction(backend: Backend) -> None:
    store = backend.memories
    _, a = put(store, "tea")
    _, b = put(store, "coffee")
    with pytest.raises(RuntimeError), backend.transaction():
        store.put_links(ACCOUNT, SCOPE, [Link(a.id, b.id, "entity")], 1_000)
        raise RuntimeError("the caller's later step failed")
    assert store.links_of(ACCOUNT, [a.id]) == []
