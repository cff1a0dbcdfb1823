"""Every tool through the SDK's in-memory client against the real server object and engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from memorylayer.mcp_server import TOOL_NAMES, LocalAccess, build_server

pytestmark = pytest.mark.anyio

FALCON_FACTS = [
    "Project Falcon launches in March",
    "Project Falcon's budget is 40k euros",
    "Project Falcon is led by Dana",
    "Project Falcon uses PostgreSQL",
    "Project Falcon demos happen on Fridays",
    "Project Falcon's repository is called falcon-core",
]


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_lists_every_seed_tool_plus_recall_with_annotations(server: Any) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(tools) == sorted(TOOL_NAMES)
    for name in ("memory_search", "memory_get", "memory_list", "memory_list_namespaces", "memory_recall"):
        assert tools[name].annotations.read_only_hint is True, name
    assert tools["memory_delete"].annotations.destructive_hint is True
    assert tools["memory_delete"].annotations.idempotent_hint is True
    assert tools["memory_store"].annotations.read_only_hint is False
    assert tools["memory_store"].annotations.destructive_hint is False
    search = tools["memory_search"].input_schema["properties"]
    assert search["top_k"]["default"] == 5 and search["top_k"]["maximum"] == 20
    assert search["min_score"]["minimum"] == 0 and search["min_score"]["maximum"] == 1
    assert tools["memory_search"].input_schema["required"] == ["query"]
    listing = tools["memory_list"].input_schema["properties"]
    assert (listing["namespace"]["default"], listing["limit"]["default"], listing["offset"]["default"]) == (
        "default",
        20,
        0,
    )
    assert tools["memory_store"].input_schema["properties"]["namespace"]["default"] == "default"
    assert set(tools["memory_update"].input_schema["properties"]) == {"memory_id", "content", "metadata"}


async def test_store_then_get_returns_content_namespace_metadata_and_timestamps(server: Any, call: Any) -> None:
    async with Client(server) as client:
        stored = await call(
            client,
            "memory_store",
            content="User prefers Python with type hints and black formatter",
            namespace="preferences",
            metadata={"source": "chat"},
        )
        assert stored["status"] == "stored"
        memory = await call(client, "memory_get", memory_id=stored["memory_id"])
    assert memory["memory_id"] == stored["memory_id"]
    assert memory["content"] == "User prefers Python with type hints and black formatter"
    assert memory["namespace"] == "preferences"
    assert memory["metadata"] == {"source": "chat"}
    assert memory["created_at"].endswith("Z") and memory["updated_at"].endswith("Z")


async def test_store_without_namespace_uses_default(server: Any, call: Any) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="The office wifi is called Basement-5G")
        memory = await call(client, "memory_get", memory_id=stored["memory_id"])
    assert memory["namespace"] == "default"


async def test_storing_the_same_text_twice_answers_duplicate_with_the_first_id(server: Any, call: Any) -> None:
    async with Client(server) as client:
        first = await call(client, "memory_store", content="My dog is named Biscuit", namespace="pets")
        again = await call(client, "memory_store", content="My dog is named Biscuit", namespace="pets")
        listed = await call(client, "memory_list", namespace="pets")
    assert again == {"memory_id": first["memory_id"], "status": "duplicate"}
    assert len(listed) == 1


async def test_search_ranks_the_relevant_memory_first_with_a_score_in_0_1(server: Any, call: Any) -> None:
    async with Client(server) as client:
        await call(client, "memory_store", content="User prefers Python with type hints", namespace="preferences")
        await call(client, "memory_store", content="User's sister lives in Lisbon", namespace="family")
        results = await call(client, "memory_search", query="what programming language does the user like?")
    assert results[0]["content"] == "User prefers Python with type hints"
    assert set(results[0]) == {"memory_id", "content", "score", "namespace", "metadata", "created_at"}
    assert all(0.0 <= r["score"] <= 1.0 for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


async def test_search_in_a_namespace_never_returns_other_namespaces(server: Any, call: Any) -> None:
    async with Client(server) as client:
        await call(client, "memory_store", content="Deploys happen on Tuesdays", namespace="work")
        await call(client, "memory_store", content="Gym on Tuesdays at 7", namespace="personal")
        everywhere = await call(client, "memory_search", query="Tuesdays")
        work = await call(client, "memory_search", query="Tuesdays", namespace="work")
    assert {r["namespace"] for r in everywhere} == {"work", "personal"}
    assert [r["content"] for r in work] == ["Deploys happen on Tuesdays"]


async def test_search_honours_top_k_and_min_score(server: Any, call: Any) -> None:
    async with Client(server) as client:
        for fact in FALCON_FACTS:
            await call(client, "memory_store", content=fact, namespace="work")
        top3 = await call(client, "memory_search", query="Project Falcon", top_k=3)
        none = await call(client, "memory_search", query="Project Falcon", min_score=1.0)
    assert len(top3) == 3
    assert all(r["score"] >= 1.0 for r in none)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"query": "x", "top_k": 21}, "top_k"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "min_score": 1.5}, "min_score"),
        ({"query": "x", "min_score": -0.1}, "min_score"),
        ({"query": "x", "top_k": "many"}, "top_k"),
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "x", "namespace": ""}, "namespace"),
    ],
)
async def test_search_rejects_out_of_range_arguments_with_invalid_request(
    server: Any, call_error: Any, arguments: dict[str, Any], complaint: str
) -> None:
    async with Client(server) as client:
        text = await call_error(client, "memory_search", **arguments)
    assert text.startswith("[invalid_request] memory_search:")
    assert complaint in text


async def test_store_rejects_empty_and_oversized_content(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        empty = await call_error(client, "memory_store", content="")
        huge = await call_error(client, "memory_store", content="x" * 16385)
        no_object = await call_error(client, "memory_store", content="ok", metadata="not an object")
        listed = await call(client, "memory_list")
    assert empty.startswith("[invalid_request]") and "content" in empty
    assert huge.startswith("[invalid_request]") and "content" in huge
    assert no_object.startswith("[invalid_request]") and "metadata" in no_object
    assert listed == []


async def test_update_replaces_content_and_merges_metadata(server: Any, call: Any) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="User prefers black", metadata={"topic": "style", "v": 1})
        updated = await call(
            client,
            "memory_update",
            memory_id=stored["memory_id"],
            content="User prefers black and ruff",
            metadata={"v": 2},
        )
        found = await call(client, "memory_search", query="ruff linter", top_k=1)
    assert updated["content"] == "User prefers black and ruff"
    assert updated["metadata"] == {"topic": "style", "v": 2}
    assert found[0]["memory_id"] == stored["memory_id"]


async def test_update_with_nothing_to_change_or_unknown_id_fails_with_its_code(
    server: Any, call: Any, call_error: Any
) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="Coffee, no sugar")
        nothing = await call_error(client, "memory_update", memory_id=stored["memory_id"])
        unknown = await call_error(
            client, "memory_update", memory_id="00000000-0000-4000-8000-000000000000", content="x"
        )
    assert nothing.startswith("[invalid_request]")
    assert unknown.startswith("[not_found]")


async def test_delete_removes_the_memory_and_a_second_delete_is_not_found(
    server: Any, call: Any, call_error: Any
) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="Temporary door code 4411")
        deleted = await call(client, "memory_delete", memory_id=stored["memory_id"])
        again = await call_error(client, "memory_delete", memory_id=stored["memory_id"])
        gone = await call_error(client, "memory_get", memory_id=stored["memory_id"])
        found = await call(client, "memory_search", query="door code")
    assert deleted == {"memory_id": stored["memory_id"], "status": "deleted"}
    assert again.startswith("[not_found]") and stored["memory_id"] in again
    assert gone.startswith("[not_found]")
    assert found == []


async def test_get_of_an_unknown_or_malformed_id_is_not_found(server: Any, call_error: Any) -> None:
    async with Client(server) as client:
        unknown = await call_error(client, "memory_get", memory_id="00000000-0000-4000-8000-000000000000")
        malformed = await call_error(client, "memory_get", memory_id="mem_abc123")
    assert unknown.startswith("[not_found]")
    assert malformed.startswith("[not_found]")


async def test_list_namespaces_counts_each_namespace(server: Any, call: Any) -> None:
    async with Client(server) as client:
        for text in ("Likes tea", "Likes jazz", "Likes hiking"):
            await call(client, "memory_store", content=text, namespace="preferences")
        await call(client, "memory_store", content="Standup at 9:30", namespace="work")
        namespaces = await call(client, "memory_list_namespaces")
    by_name = {n["namespace"]: n for n in namespaces}
    assert {k: v["count"] for k, v in by_name.items()} == {"preferences": 3, "work": 1}
    assert by_name["work"]["last_updated"].endswith("Z")


async def test_list_pages_newest_first_with_limit_and_offset(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        ids = [
            (await call(client, "memory_store", content=fact, namespace="books"))["memory_id"]
            for fact in FALCON_FACTS + ["Dune is on the reading list"]
        ]
        first = await call(client, "memory_list", namespace="books", limit=3)
        second = await call(client, "memory_list", namespace="books", limit=3, offset=3)
        rest = await call(client, "memory_list", namespace="books", limit=3, offset=6)
        beyond = await call(client, "memory_list", namespace="books", offset=50)
        bad = await call_error(client, "memory_list", namespace="books", offset=-1)
    newest_first = list(reversed(ids))
    assert [m["memory_id"] for m in first + second + rest] == newest_first
    assert beyond == []
    assert bad.startswith("[invalid_request]") and "offset" in bad


async def test_recall_returns_prompt_ready_context_from_one_namespace(server: Any, call: Any) -> None:
    async with Client(server) as client:
        await call(client, "memory_store", content="User is vegetarian", namespace="user-42")
        await call(client, "memory_store", content="User is allergic to peanuts", namespace="user-42")
        await call(client, "memory_store", content="User loves steak", namespace="user-99")
        recalled = await call(
            client,
            "memory_recall",
            query="is the user vegetarian?",
            namespace="user-42",
            threshold="permissive",
        )
        unknown = await call(client, "memory_recall", query="anything", namespace="nobody")
    assert "vegetarian" in recalled["context"]
    assert "steak" not in recalled["context"]
    assert all(m["namespace"] == "user-42" for m in recalled["memories"])
    assert unknown["context"] == "" and unknown["memories"] == []
    assert unknown["ranking"]["strategy"] == "user_not_found"


async def test_structured_content_carries_the_same_data_as_the_text(server: Any, call: Any) -> None:
    async with Client(server) as client:
        await call(client, "memory_store", content="Prefers dark mode")
        result = await client.call_tool("memory_search", {"query": "dark mode"})
        listed = await client.call_tool("memory_list", {})
    assert result.structured_content == {"results": json.loads(result.content[0].text)}  # type: ignore[union-attr]
    assert listed.structured_content == {"memories": json.loads(listed.content[0].text)}  # type: ignore[union-attr]


async def test_an_unknown_tool_is_a_not_found_tool_error(server: Any, call_error: Any) -> None:
    async with Client(server) as client:
        text = await call_error(client, "memory_forget_everything")
    assert text.startswith("[not_found]")


async def test_recall_with_max_tokens_8000_is_refused_by_its_own_schema_not_by_the_engine(server: Any) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("memory_recall", {"query": "what does the user eat?", "max_tokens": 8000})
    published = tools["memory_recall"].input_schema["properties"]["max_tokens"]
    assert (published["minimum"], published["maximum"]) == (10, 2000)
    assert result.is_error
    # The schema's refusal names the tool; the engine's would read "[invalid_request] max_tokens: must be …".
    assert result.content[0].text == (  # type: ignore[union-attr]
        "[invalid_request] memory_recall: max_tokens: Input should be less than or equal to 2000 (got 8000)"
    )


async def test_answer_and_remember_document_over_the_local_engine(server: Any, call: Any, call_error: Any) -> None:
    guide = "# Deploy\n\nDeploys run on merge to main.\n\n## Rollback\nRun deploy --previous to roll back."
    async with Client(server) as client:
        stored = await call(client, "memory_remember_document", document="deploy.md", text=guide, namespace="ops")
        answered = await call(client, "memory_answer", question="How do I roll back?", namespace="ops")
        missing = await call(client, "memory_answer", question="Who is the CEO of Acme?", namespace="ops")
        blank = await call_error(client, "memory_remember_document", document="deploy.md", text="   ")
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert [c["key"] for c in stored["chunks"]] == ["deploy.md#0", "deploy.md#1"] and stored["removed"] == 0
    assert stored["chunks"][1]["metadata"]["heading"] == "Deploy > Rollback"
    assert answered["found"] and answered["citations"] == [stored["chunks"][1]["memory_id"]]
    assert (
        answered["answer"] == "Run deploy --previous" and answered["context"] == "Run deploy --previous to roll back."
    )
    assert missing == {**missing, "found": False, "answer": None, "citations": []}
    assert blank.startswith("[invalid_request]")
    assert tools["memory_answer"].annotations.read_only_hint is True
    assert tools["memory_remember_document"].annotations.read_only_hint is False


async def test_store_with_a_ttl_and_recall_or_search_as_of_a_past_time(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        stored = await call(client, "memory_store", content="Standup moved to 10:00 this week", ttl_seconds=86_400)
        memory = await call(client, "memory_get", memory_id=stored["memory_id"])
        assert memory["expires_at"] > memory["created_at"] and memory["valid_to"] is None
        for when, city in (("2024-01-10T00:00:00Z", "Paris"), ("2025-03-01T00:00:00Z", "Berlin")):
            await call(client, "memory_store", content=city, key="residence", namespace="u", created_at=when)
        recalled = await call(
            client, "memory_recall", query="where does the user live?", namespace="u", as_of="2024-06-01"
        )
        assert recalled["context"] == "residence: Paris"
        assert recalled["memories"][0]["valid_to"] == "2025-03-01T00:00:00.000Z"
        now = await call(client, "memory_recall", query="where does the user live?", namespace="u")
        assert now["context"] == "residence: Berlin"
        found = await call(client, "memory_search", query="residence", namespace="u", as_of="2024-06-01")
        assert [hit["content"] for hit in found] == ["Paris"]
        text = await call_error(client, "memory_store", content="x", ttl_seconds=0)
        assert text.startswith("[invalid_request] memory_store:")
        text = await call_error(client, "memory_recall", query="where?", as_of="last spring")
        assert text.startswith("[invalid_request]") and "as_of" in text
