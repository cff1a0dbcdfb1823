"""Lexical search (BM25 over the engine's terms), term statistics and each memory's terms."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from store_support import ACCOUNT, OTHER_ACCOUNT, SCOPE, DatabaseUnderTest, memory, put, unit

from memorylayer.store import Backend, Store


def test_lexical_ranks_memories_holding_more_and_rarer_query_terms_first(store: Store) -> None:
    both, _ = put(store, "quarterly budget review meeting")
    rare, _ = put(store, "budget for the offsite")
    common, _ = put(store, "meeting notes")
    for i in range(6):
        put(store, f"meeting number {i}")
    results = store.lexical(ACCOUNT, SCOPE, ["budget", "meeting"], 3)
    assert [rowid for rowid, _ in results] == [both, rare, results[2][0]]
    assert results[0][1] > results[1][1] > results[2][1] > 0
    assert common not in [rowid for rowid, _ in results[:2]]


def test_lexical_scores_are_fts5s_bm25_to_double_precision(store: Store) -> None:
    # Both backends score with FTS5's bm25() (k1 1.2, b 0.75, idf floored at 1e-6), in doubles, so a
    # scope ranks alike on SQLite and PostgreSQL; the documents here are every memory indexed.
    texts = ["budget review budget", "budget offsite plan", "meeting notes", "meeting budget", "plan meeting soon"]
    rowids = [put(store, text)[0] for text in texts]
    documents = [text.split() for text in texts]
    average = sum(len(d) for d in documents) / len(documents)

    def bm25(document: list[str], query: list[str]) -> float:
        score = 0.0
        for term in query:
            having = sum(term in d for d in documents)
            idf = max(math.log((len(documents) - having + 0.5) / (having + 0.5)), 1e-6)
            tf = document.count(term)
            score += idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * len(document) / average)) if tf else 0.0
        return score

    query = ["budget", "plan"]
    found = dict(store.lexical(ACCOUNT, SCOPE, query, 10))
    expected = {rowid: bm25(d, query) for rowid, d in zip(rowids, documents, strict=True) if set(d) & set(query)}
    assert set(found) == set(expected)
    for rowid, score in expected.items():
        assert found[rowid] == pytest.approx(score, rel=1e-9)


def test_lexical_honours_the_limit_and_returns_nothing_without_terms_or_matches(store: Store) -> None:
    for i in range(10):
        put(store, f"alpha {i}")
    assert len(store.lexical(ACCOUNT, SCOPE, ["alpha"], 4)) == 4
    assert store.lexical(ACCOUNT, SCOPE, [], 4) == []
    assert store.lexical(ACCOUNT, SCOPE, ["omega"], 4) == []


def test_lexical_only_searches_the_accounts_scope_and_its_live_memories(store: Store) -> None:
    mine, _ = put(store, "shared word")
    put(store, "shared word", scope="elsewhere")
    put(store, "shared word", account=OTHER_ACCOUNT)
    _, old = put(store, "shared word superseded")
    store.supersede(ACCOUNT, old.id, "newer")
    assert [rowid for rowid, _ in store.lexical(ACCOUNT, SCOPE, ["shared"], 10)] == [mine]


def test_lexical_treats_query_syntax_as_plain_terms(store: Store) -> None:
    plain, _ = put(store, "and or not near")
    quoted, _ = put(store, 'say "hello*" twice')
    assert [r for r, _ in store.lexical(ACCOUNT, SCOPE, ["near", "AND", "NOT"], 5)] == [plain]
    assert [r for r, _ in store.lexical(ACCOUNT, SCOPE, ['"hello*"'], 5)] == [quoted]
    assert store.lexical(ACCOUNT, SCOPE, ["hel*", '"', "-", "(", "^"], 5) == []


def test_term_stats_counts_indexed_memories_and_those_holding_each_term(store: Store) -> None:
    assert store.term_stats([]) == (0, {})
    put(store, "red apple")
    put(store, "green apple", account=OTHER_ACCOUNT)
    put(store, "red car", scope="cars")
    assert store.term_stats(["apple", "red", "blue"]) == (3, {"apple": 2, "red": 2, "blue": 0})


def test_term_stats_follow_every_write_exactly(store: Store) -> None:
    rowid, record = put(store, "red apple")
    _, other = put(store, "green pear")
    assert store.term_stats(["apple", "pear"]) == (2, {"apple": 1, "pear": 1})
    store.replace(replace(record, value="red pear", updated_at=2_000), unit("red pear"), ["red", "pear"])
    assert store.term_stats(["apple", "pear"]) == (2, {"apple": 0, "pear": 2})
    store.delete(ACCOUNT, [other.id])
    put(store, "apple pie")
    assert store.term_stats(["apple", "pear"]) == (2, {"apple": 1, "pear": 1})
    assert store.terms_for([rowid]) == {rowid: {"red", "pear"}}


def test_term_stats_see_writes_made_through_another_backend(store: Store, database: DatabaseUnderTest) -> None:
    put(store, "red apple")
    assert store.term_stats(["apple"]) == (1, {"apple": 1})
    other = database.open()
    try:
        put(other.memories, "apple tart")
        put(other.memories, "pear tart")
        assert store.term_stats(["apple"]) == (3, {"apple": 2})
    finally:
        other.close()


def test_terms_for_returns_each_memorys_index_terms(store: Store) -> None:
    record = memory("Paris in spring")
    rowid = store.insert(record, unit(1), ["paris", "spring", "2026-04"])
    other, _ = put(store, "something else")
    assert store.terms_for([rowid, other, 10_000_000]) == {
        rowid: {"paris", "spring", "2026-04"},
        other: {"something", "else"},
    }
    assert store.terms_for([]) == {}


def test_term_stats_read_inside_a_rolled_back_transaction_are_not_kept(backend: Backend) -> None:
    store = backend.memories
    put(store, "green pear")
    with pytest.raises(RuntimeError), backend.transaction():
        put(store, "ghost apple")
        assert store.term_stats(["apple"]) == (2, {"apple": 1})  # a transaction sees its own writes
        raise RuntimeError("roll back")
    put(store, "yellow pear")
    assert store.term_stats(["apple", "pear"]) == (2, {"apple": 0, "pear": 2})
