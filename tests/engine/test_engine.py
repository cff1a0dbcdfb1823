"""Behaviour of every engine call against a real SQLite file and the real ONNX model."""

from __future__ import annotations

import io
import json

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, NotFound


def test_keyed_add_upserts_and_keeps_the_previous_value_in_history(engine: Engine) -> None:
    first = engine.add("user-alice", "Alice Chen", key="name").memories[0]
    second = engine.add("user-alice", "Alice Chen-Smith", key="name", importance=0.9).memories[0]
    assert second.id == first.id
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert engine.get_key("user-alice", "name").value == "Alice Chen-Smith"
    assert engine.get_key("user-alice", "name").importance == 0.9
    history = engine.history(scope="user-alice", key="name")
    assert [h.value for h in history] == ["Alice Chen"]
    assert engine.history(first.id)[0].event == "updated"


def test_re_adding_the_same_keyed_fact_changes_nothing(engine: Engine) -> None:
    first = engine.add("s", "dark mode", key="theme").memories[0]
    again = engine.add("s", "dark mode", key="theme").memories[0]
    assert again == first
    assert engine.history(first.id) == []


def test_free_text_goes_through_extraction(engine: Engine) -> None:
    result = engine.add("user-bob", "Hello there")
    assert result.memories == []
    result = engine.add("user-bob", "I'm allergic to peanuts.")
    assert [m.value for m in result.memories] == ["User is allergic to peanuts."]
    assert result.memories[0].source == "extracted"
    assert result.memories[0].key is None


def test_an_exact_duplicate_is_not_stored_twice(engine: Engine) -> None:
    engine.add("s", "Deploys run on merge to main", extract=False)
    first = engine.list(scope="s").memories[0]
    again = engine.add("s", "  deploys run on   merge to main ", extract=False)
    assert again.memories == []
    assert again.duplicates == [first.id]
    assert again.skipped == ["  deploys run on   merge to main "]
    assert engine.count("s") == 1


def test_a_near_duplicate_supersedes_and_the_old_text_stays_in_history(engine: Engine) -> None:
    old = engine.add("s", "Deploys run on merge to main", extract=False).memories[0]
    new = engine.add("s", "Deploys run on merge to main!", extract=False)
    assert new.superseded == [old.id]
    assert engine.count("s") == 1
    assert engine.get(old.id).superseded_by == new.memories[0].id
    history = engine.history(old.id)
    assert history[0].event == "superseded" and history[0].value == "Deploys run on merge to main"


def test_extraction_never_supersedes_a_keyed_fact(engine: Engine) -> None:
    keyed = engine.add("s", "User is allergic to peanuts.", key="allergy").memories[0]
    result = engine.add("s", "I'm allergic to peanuts.")
    assert result.memories == [] and result.skipped
    assert engine.get_key("s", "allergy") == keyed


def test_update_re_embeds_merges_metadata_and_records_history(engine: Engine) -> None:
    memory = engine.add("s", "User prefers Python", extract=False, metadata={"a": 1}).memories[0]
    updated = engine.update(memory.id, value="User prefers Rust", metadata={"b": 2})
    assert updated.value == "User prefers Rust"
    assert updated.metadata == {"a": 1, "b": 2}
    assert engine.search("rust programming", scope="s")[0].memory.id == memory.id
    assert engine.history(memory.id)[0].value == "User prefers Python"


def test_an_update_that_changes_nothing_leaves_no_history(engine: Engine) -> None:
    memory = engine.add("s", "User prefers Python", extract=False, metadata={"a": 1}).memories[0]
    assert engine.update(memory.id, value="User prefers Python", metadata={"a": 1}) == memory
    assert engine.history(memory.id) == []


def test_update_of_an_unknown_id_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        engine.update("no-such-id", value="x")
    with pytest.raises(InvalidRequest):
        engine.update("no-such-id")


def test_remove_and_delete_really_delete(engine: Engine) -> None:
    keyed = engine.add("s", "v1", key="k").memories[0]
    engine.add("s", "v2", key="k")
    assert engine.remove("s", "k") is True
    assert engine.remove("s", "k") is False
    assert engine.history(keyed.id) == []
    free = engine.add("s", "Some fact about deployment pipelines", extract=False).memories[0]
    assert engine.delete(free.id) is True
    assert engine.delete(free.id) is False
    assert engine.search("deployment pipelines", scope="s") == []
    with pytest.raises(NotFound):
        engine.get(free.id)


def test_accounts_never_see_each_other(engine: Engine) -> None:
    other = engine.for_account("acct-2")
    mine = engine.add("s", "secret plan", key="plan").memories[0]
    assert other.get_key("s", "plan") is None
    with pytest.raises(NotFound):
        other.get(mine.id)
    assert other.delete(mine.id) is False
    assert other.search("secret plan") == []
    assert other.list().memories == []
    assert engine.get(mine.id).value == "secret plan"


def test_search_ranks_the_relevant_memory_first_with_scores_in_unit_interval(engine: Engine) -> None:
    engine.add_many("s", ["User is strictly vegetarian", "The office is in Berlin", "User drives a blue Volvo"])
    hits = engine.search("dietary restrictions", scope="s", top_k=3)
    assert hits[0].memory.value == "User is strictly vegetarian"
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert engine.search("dietary restrictions", scope="s", min_score=0.99) == []


def test_keyword_only_hits_enter_the_pool(engine: Engine) -> None:
    engine.add_many("s", [f"Ticket note number {i} about the billing page" for i in range(30)])
    engine.add("s", "Incident INC-4471 was caused by an expired certificate", extract=False)
    assert engine.search("INC-4471", scope="s", top_k=1)[0].memory.value.startswith("Incident INC-4471")


def test_search_without_scope_covers_every_namespace(engine: Engine) -> None:
    engine.add("work", "The staging database is Postgres 15", extract=False)
    engine.add("home", "The cat is called Miso", extract=False)
    hits = engine.search("what is the cat's name", top_k=1)
    assert hits[0].memory.scope == "home"


def test_recall_builds_context_within_budget_and_renders_keys(engine: Engine) -> None:
    engine.add("p", "Deploys run on merge to main; check Slack #deploys for status.", key="deploy-process")
    result = engine.recall("p", "how do deploys work here?")
    assert result.context == "deploy-process: Deploys run on merge to main; check Slack #deploys for status."
    assert result.ranking.strategy == "semantic" and result.ranking.ordering == "relevance"
    tight = engine.recall("p", "how do deploys work here?", max_tokens=10)
    assert tight.context == "" and tight.memories == []


def test_recall_of_an_unknown_scope_returns_the_defaults(engine: Engine) -> None:
    result = engine.recall("nobody", "anything", defaults={"tone": "terse", "lang": "en"}, max_items=1)
    assert result.ranking.strategy == "user_not_found"
    assert result.context == "tone: terse"


def test_recall_thresholds_are_nested(engine: Engine) -> None:
    engine.add_many(
        "food",
        [
            "User's favourite food is sushi",
            "User loves Italian pasta dishes",
            "User drinks green tea every morning",
            "User works as a nurse at the city hospital",
            "User enjoys hiking on weekends",
        ],
    )
    counts = {
        t: len(engine.recall("food", "What are my favorite foods to eat?", threshold=t, max_items=10).memories)
        for t in ("strict", "balanced", "permissive")
    }
    assert counts["strict"] <= counts["balanced"] <= counts["permissive"]
    assert counts["strict"] < counts["permissive"]
    assert counts["strict"] >= 1


FACTS = [
    "User's favourite food is sushi",
    "User is allergic to peanuts.",
    "User's team deploys on merge to main.",
    "User lives in Oslo.",
    "User has two cats named Miso and Tofu.",
    "The staging database is Postgres 15.",
    "User's manager is Dana.",
    "User works as a nurse at the city hospital",
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("do I have pets?", "User has two cats named Miso and Tofu."),
        ("dietary restrictions", "User is allergic to peanuts."),
        ("who is my boss?", "User's manager is Dana."),
        ("how do we deploy?", "User's team deploys on merge to main."),
        ("which database version runs in staging?", "The staging database is Postgres 15."),
    ],
)
def test_balanced_recall_finds_paraphrases(engine: Engine, question: str, expected: str) -> None:
    engine.add_many("facts", FACTS)
    assert engine.recall("facts", question).memories[0].value == expected


@pytest.mark.parametrize("question", ["what is the capital of France?", "how tall is Mount Everest?"])
def test_balanced_recall_returns_nothing_for_unrelated_questions(engine: Engine, question: str) -> None:
    engine.add_many("facts", FACTS)
    assert engine.recall("facts", question).context == ""


@pytest.mark.parametrize("question", ["what is the capital of France?", "tell me a joke", "how tall is Mount Everest?"])
def test_strict_recall_returns_nothing_for_unrelated_questions(engine: Engine, question: str) -> None:
    # Balanced is calibrated for one-step inferences ("what should I cook?" -> allergies), so a weak
    # match can pass it ("tell me a joke" keeps one fact); bench/facts.py measures how often.
    engine.add_many("facts", FACTS)
    assert engine.recall("facts", question, threshold="strict").memories == []


def test_strict_recall_keeps_only_strong_matches(engine: Engine) -> None:
    engine.add_many("facts", FACTS)
    assert [m.value for m in engine.recall("facts", "where do I live?", threshold="strict").memories] == [
        "User lives in Oslo."
    ]
    assert engine.recall("facts", "who is my boss?", threshold="strict").memories == []


def test_recall_records_access_history(engine: Engine) -> None:
    memory = engine.add("p", "The deploy key rotates every 90 days", extract=False).memories[0]
    engine.recall("p", "when does the deploy key rotate?")
    again = engine.get(memory.id)
    assert again.recall_count == 1 and again.last_recalled_at is not None


def test_list_pages_exactly_in_both_directions(engine: Engine) -> None:
    engine.add_many("s", [f"fact number {i}" for i in range(25)], created_at=[1_700_000_000_000] * 25, dedup=False)
    for direction in ("asc", "desc"):
        seen, cursor = [], None
        while True:
            page = engine.list(scope="s", order_by="created_at", order_dir=direction, limit=7, cursor=cursor)
            seen += [m.id for m in page.memories]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == 25 and len(set(seen)) == 25


def test_list_filters(engine: Engine) -> None:
    engine.add("a", "alpha 100%", key="k1")
    engine.add("a", "I'm allergic to peanuts")
    engine.add("b", "beta_value", extract=False)
    assert {m.scope for m in engine.list().memories} == {"a", "b"}
    assert [m.value for m in engine.list(search="100%").memories] == ["alpha 100%"]
    assert engine.list(search="_").memories[0].value == "beta_value"
    assert [m.source for m in engine.list(source="extracted").memories] == ["extracted"]
    page = engine.list(scope="a", include_total=True, limit=1)
    assert page.total == 2 and page.next_cursor is not None
    assert engine.list(scope="missing", include_total=True).total == 0


@pytest.mark.parametrize("cursor", ["not-base64!!", "eyJmb28iOjF9", "bnVsbA", "eyJ2IjoiYSIsImlkIjoxfQ"])
def test_bad_cursors_are_invalid_requests(engine: Engine, cursor: str) -> None:
    with pytest.raises(InvalidRequest, match="Invalid cursor"):
        engine.list(cursor=cursor)


def test_namespaces_report_count_and_last_update(engine: Engine) -> None:
    engine.add("work", "a", key="x")
    engine.add("work", "b", key="y")
    engine.add("home", "c", key="z")
    spaces = {n.scope: n for n in engine.namespaces()}
    assert spaces["work"].count == 2 and spaces["home"].count == 1
    assert spaces["work"].last_updated is not None


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e: e.add("", "v"), "scope"),
        (lambda e: e.add("x" * 256, "v", key="k"), "scope"),
        (lambda e: e.add("😀" * 128, "v", key="k"), "scope"),  # 256 UTF-16 units
        (lambda e: e.add("s", "", key="k"), "value"),
        (lambda e: e.add("s", "v" * 16385, key="k"), "value"),
        (lambda e: e.add("s", 42, key="k"), "value"),
        (lambda e: e.add("s", "v", key=""), "key"),
        (lambda e: e.add("s", "v", key="k" * 129), "key"),
        (lambda e: e.add("s", "v", key="k", importance=1.5), "importance"),
        (lambda e: e.add("s", "v", key="k", importance=True), "importance"),
        (lambda e: e.add("s", "v", key="k", metadata=["x"]), "metadata"),
        (lambda e: e.add("s", "free text", importance=0.3), "importance"),
        (lambda e: e.search(""), "query"),
        (lambda e: e.search("q", top_k=0), "top_k"),
        (lambda e: e.search("q", top_k=2.5), "top_k"),
        (lambda e: e.recall("s", "q", max_items=51), "max_items"),
        (lambda e: e.recall("s", "q", max_tokens=True), "max_tokens"),
        (lambda e: e.recall("s", "q", threshold="loose"), "threshold"),
        (lambda e: e.list(limit=0), "limit"),
        (lambda e: e.list(order_by="value"), "order_by"),
        (lambda e: e.add_many("s", []), "values"),
    ],
)
def test_bad_input_is_rejected_and_nothing_is_written(engine: Engine, call, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        call(engine)
    assert info.value.code == "invalid_request"
    assert field in info.value.message
    assert engine.count() == 0
    assert engine.namespaces() == []


def test_export_then_import_round_trips(engine: Engine, tmp_path) -> None:
    engine.add("s", "Alice", key="name")
    engine.add("s", "User is vegetarian", extract=False, metadata={"from": "chat"})
    buffer = io.StringIO()
    assert engine.export_jsonl(buffer) == 2
    # Another home's own SQLite file (under --backend postgres: from PostgreSQL into SQLite).
    other = Engine.open(tmp_path / "other", database=f"sqlite:///{tmp_path / 'other' / 'memory.db'}")
    assert other.import_jsonl(io.StringIO(buffer.getvalue())) == 2
    assert other.get_key("s", "name").value == "Alice"
    assert other.search("vegetarian", scope="s")[0].memory.metadata == {"from": "chat"}
    assert other.import_jsonl(io.StringIO(buffer.getvalue())) == 0  # duplicates skipped
    other.close()


def test_a_bad_import_line_writes_nothing(engine: Engine) -> None:
    lines = json.dumps({"scope": "s", "value": "ok"}) + "\n" + json.dumps({"scope": "s", "value": ""}) + "\n"
    with pytest.raises(InvalidRequest, match="line 2"):
        engine.import_jsonl(io.StringIO(lines))
    assert engine.count() == 0


def test_reindex_re_embeds_vectors_of_another_model(engine: Engine) -> None:
    engine.add("s", "User is vegetarian", extract=False)
    engine.store.set_vectors([(1, engine.embedder.embed(["unrelated"])[0])], "old-model")
    assert engine.models() == {"old-model": 1}
    assert engine.reindex() == 1
    assert engine.models() == {engine.embedder.model_id: 1}
    assert engine.search("vegetarian diet", scope="s")[0].signals["semantic"] > 0.5


def test_drop_scope_cascades(engine: Engine) -> None:
    engine.add("s", "a", key="x")
    engine.add("t", "b", key="x")
    assert engine.drop_scope("s") == 1
    assert [n.scope for n in engine.namespaces()] == ["t"]
