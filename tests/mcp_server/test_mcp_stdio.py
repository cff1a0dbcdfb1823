"""`memorylayer mcp` as a real subprocess over stdio, alone and side by side with other writers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio

PEOPLE = ["Alice", "Bruno", "Chen", "Dagny", "Emeka", "Farah", "Goran", "Hiro", "Ines", "Jonas"]
HOBBIES = [
    "plays the cello",
    "climbs in Fontainebleau",
    "brews sour beer",
    "restores old Vespas",
    "keeps bees",
]


def memorylayer_command() -> list[str]:
    """The installed ``memorylayer`` script next to this interpreter (else on PATH)."""
    script = Path(sys.executable).with_name("memorylayer")
    found = str(script) if script.exists() else shutil.which("memorylayer")
    assert found, "the memorylayer command is not installed (pip install -e .)"
    return [found]


def server_params(home: Path) -> StdioServerParameters:
    command = memorylayer_command()
    env = {"MEMORYLAYER_HOME": str(home)}
    if os.environ.get("MEMORYLAYER_DATABASE"):  # --backend postgres
        env["MEMORYLAYER_DATABASE"] = os.environ["MEMORYLAYER_DATABASE"]
    return StdioServerParameters(command=command[0], args=[*command[1:], "mcp"], env=env)


async def test_every_tool_answers_over_stdio(memorylayer_home: Path, call: Any, call_error: Any) -> None:
    async with Client(server_params(memorylayer_home), read_timeout_seconds=60) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        stored = await call(client, "memory_store", content="User prefers tabs over spaces", namespace="style")
        hits = await call(client, "memory_search", query="indentation preference", namespace="style", top_k=3)
        got = await call(client, "memory_get", memory_id=stored["memory_id"])
        updated = await call(client, "memory_update", memory_id=stored["memory_id"], metadata={"confirmed": True})
        listed = await call(client, "memory_list", namespace="style")
        namespaces = await call(client, "memory_list_namespaces")
        recalled = await call(
            client, "memory_recall", query="tabs or spaces?", namespace="style", threshold="permissive"
        )
        bad = await call_error(client, "memory_search", query="x", top_k=99)
        deleted = await call(client, "memory_delete", memory_id=stored["memory_id"])
        missing = await call_error(client, "memory_get", memory_id=stored["memory_id"])
    assert {"memory_store", "memory_search", "memory_recall"} <= names
    assert stored["status"] == "stored"
    assert hits[0]["memory_id"] == stored["memory_id"]
    assert got["content"] == "User prefers tabs over spaces"
    assert updated["metadata"] == {"confirmed": True}
    assert [m["memory_id"] for m in listed] == [stored["memory_id"]]
    assert namespaces == [{"namespace": "style", "count": 1, "last_updated": updated["updated_at"]}]
    assert "tabs" in recalled["context"]
    assert bad.startswith("[invalid_request]")
    assert deleted["status"] == "deleted"
    assert missing.startswith("[not_found]")


def facts(writer: str) -> list[str]:
    """50 facts no two of which dedup would merge (closest pair: cosine 0.87 < 0.95)."""
    return [f"{writer}: {person} {hobby}" for person in PEOPLE for hobby in HOBBIES]


async def test_two_stdio_servers_and_the_cli_writing_at_once_lose_nothing(memorylayer_home: Path, call: Any) -> None:
    cli_facts = facts("cli")[:8]
    cli_done = anyio.Event()
    acknowledged: dict[str, list[str]] = {}

    async def editor(name: str) -> None:
        # Keeps writing while the CLI writes, so the three processes' transactions interleave.
        async with Client(server_params(memorylayer_home), read_timeout_seconds=120) as client:
            ids: list[str] = []
            for fact in facts(name):
                stored = await call(client, "memory_store", content=fact, namespace=name)
                assert stored["status"] == "stored", stored
                ids.append(stored["memory_id"])
                if cli_done.is_set() and len(ids) >= 5:
                    break
            acknowledged[name] = ids

    def cli_writer() -> None:
        env = {**os.environ, "MEMORYLAYER_HOME": str(memorylayer_home)}
        for fact in cli_facts:
            subprocess.run(
                [*memorylayer_command(), "remember", fact, "--namespace", "cli"],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )

    async def cli() -> None:
        await anyio.to_thread.run_sync(cli_writer)
        cli_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(editor, "cursor")
        tg.start_soon(editor, "claude")
        tg.start_soon(cli)

    from memorylayer.engine import Engine

    with Engine.open(memorylayer_home) as engine:
        counts = {ns.scope: ns.count for ns in engine.namespaces()}
        stored = {m.value for m in engine.iter_all()}
        for ids in acknowledged.values():
            for memory_id in ids:
                assert engine.get(memory_id).superseded_by is None
    written = {name: facts(name)[: len(ids)] for name, ids in acknowledged.items()}
    assert counts == {
        "cursor": len(written["cursor"]),
        "claude": len(written["claude"]),
        "cli": len(cli_facts),
    }
    assert stored == set(written["cursor"] + written["claude"] + cli_facts)
