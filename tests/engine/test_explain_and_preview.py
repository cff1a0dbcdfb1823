"""What the dashboard asks of the engine: a score explained part by part, recall as a preview that leaves
the access history alone, edits that replace metadata, and listing by a substring of the key."""

from __future__ import annotations

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.ranking import DEFAULT_RANKING, explain_score, final_score, ordering_relevance
from memorylayer.errors import InvalidRequest


def test_a_hits_score_is_the_sum_of_its_explained_parts_times_the_source_factor(engine: Engine) -> None:
    engine.add("prefs", "vegetarian", key="diet", importance=0.9)
    engine.add("prefs", "The user lives in Lyon", extract=False)
    engine.add("prefs", "Dinner is usually pasta", extract=False)
    result = engine.recall("prefs", "what does the user eat?", max_items=3, threshold="permissive")
    assert result.hits
    for hit in result.hits:
        parts = explain_score(hit.memory, ordering_relevance(hit.signals), hit.memory.updated_at + 1, engine.ranking)
        total = (parts.relevance + parts.recency + parts.importance + parts.activation) * parts.source_factor
        assert parts.score == pytest.approx(min(max(total, 0.0), 1.0))
        assert parts.score == pytest.approx(hit.score, abs=1e-4)
        assert parts.importance == pytest.approx(DEFAULT_RANKING.importance_weight * hit.memory.importance)
        now = hit.memory.updated_at + 1
        assert final_score(hit.memory, ordering_relevance(hit.signals), now, engine.ranking) == parts.score


def test_recall_as_a_preview_leaves_the_access_history_as_it_was(engine: Engine) -> None:
    engine.add("prefs", "vegetarian", key="diet")
    preview = engine.recall("prefs", "diet", record_access=False)
    assert preview.context == "diet: vegetarian"
    assert engine.get_key("prefs", "diet").recall_count == 0
    engine.recall("prefs", "diet")
    assert engine.get_key("prefs", "diet").recall_count == 1


def test_an_update_can_replace_the_metadata_instead_of_merging_it(engine: Engine) -> None:
    memory = engine.add("notes", "tea", key="drink", metadata={"a": 1, "b": 2}).memories[0]
    assert engine.update(memory.id, metadata={"c": 3}).metadata == {"a": 1, "b": 2, "c": 3}
    replaced = engine.update(memory.id, metadata={"c": 3}, replace_metadata=True)
    assert replaced.metadata == {"c": 3}
    assert [h.metadata for h in engine.history(scope="notes", key="drink")] == [
        {"a": 1, "b": 2},
        {"a": 1, "b": 2, "c": 3},
    ]


def test_list_filters_by_a_substring_of_the_key(engine: Engine) -> None:
    engine.add("notes", "aisle", key="travel_seat")
    engine.add("notes", "the seat of government", extract=False)
    page = engine.list(scope="notes", key_search="SEAT", include_total=True)
    assert [m.key for m in page.memories] == ["travel_seat"] and page.total == 1
    with pytest.raises(InvalidRequest):
        engine.list(key_search="x" * 501)


@pytest.mark.parametrize(
    ("max_items", "max_tokens", "threshold"), [(1, 150, "balanced"), (3, 12, "permissive"), (2, 150, "strict")]
)
def test_recall_with_near_misses_answers_the_same_and_lists_what_it_left_out(
    engine: Engine, max_items: int, max_tokens: int, threshold: str
) -> None:
    engine.add("prefs", "vegetarian", key="diet", importance=0.9)
    engine.add_many(
        "prefs",
        ["The user eats pasta most evenings", "The user lives in Lyon", "Dinner is at eight", "The cat is Miso"],
    )
    ask = {"max_items": max_items, "max_tokens": max_tokens, "threshold": threshold, "record_access": False}
    plain = engine.recall("prefs", "what does the user eat for dinner?", **ask)
    explained = engine.recall("prefs", "what does the user eat for dinner?", near_misses=10, **ask)
    assert (explained.context, explained.memories, explained.ranking) == (plain.context, plain.memories, plain.ranking)
    assert plain.left_out == []
    kept = {m.id for m in explained.memories}
    missed = explained.left_out
    assert missed and not kept & {h.memory.id for h in missed}
    assert len(kept) + len(missed) == 5
    assert [h.score for h in missed] == sorted((h.score for h in missed), reverse=True)
    with pytest.raises(InvalidRequest):
        engine.recall("prefs", "x", near_misses=101)
