"""A third-party client: the MCP Inspector CLI lists the tools and runs store → search → get → delete.

The Inspector is a Node program installed by CI (see .ci/); point ``MEMORYLAYER_INSPECTOR`` at
its command line, e.g. ``"/path/to/node /path/to/node_modules/.bin/mcp-inspector"``. Nothing is
downloaded here: without it these tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

INSPECTOR_ENV = "MEMORYLAYER_INSPECTOR"


@pytest.fixture
def inspector() -> list[str]:
    command = os.environ.get(INSPECTOR_ENV, "")
    if not command:
        reason = f"{INSPECTOR_ENV} is not set: install @modelcontextprotocol/inspector (Node 22.19+) to run this"
        print(f"SKIPPED: {reason}", file=sys.stderr)
        pytest.skip(reason)
    return shlex.split(command)


def memorylayer() -> str:
    script = Path(sys.executable).with_name("memorylayer")
    found = str(script) if script.exists() else shutil.which("memorylayer")
    assert found, "the memorylayer command is not installed (pip install -e .)"
    return found


#: The Inspector CLI's exit status when the tool answered ``isError: true``.
TOOL_IS_ERROR = 5


def run_inspector(command: list[str], target: list[str], *args: str) -> Any:
    done = subprocess.run(
        [*command, "--cli", *target, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, TOOL_IS_ERROR), (
        f"inspector failed ({done.returncode}): {done.stderr[-2000:]}{done.stdout[-2000:]}"
    )
    return json.loads(done.stdout)


def tool(result: Any) -> Any:
    assert result.get("isError") is not True, result
    return json.loads(result["content"][0]["text"])


def call_tool(inspect: Callable[..., Any], name: str, *arguments: str) -> Any:
    """The Inspector's answer to ``tools/call`` of ``name`` with ``key=value`` arguments."""
    return inspect("--method", "tools/call", "--tool-name", name, "--tool-arg", *arguments)


def basic_flow(inspect: Callable[..., Any]) -> None:
    listed = inspect("--method", "tools/list")
    names = {t["name"] for t in listed["tools"]}
    assert {"memory_store", "memory_search", "memory_get", "memory_delete", "memory_list"} <= names
    content = "The user's favourite editor is Helix"
    stored = tool(call_tool(inspect, "memory_store", f"content={content}", "namespace=inspector"))
    assert stored["status"] == "stored"
    hits = tool(call_tool(inspect, "memory_search", "query=which text editor?", "namespace=inspector", "top_k=3"))
    assert hits[0]["memory_id"] == stored["memory_id"]
    got = tool(call_tool(inspect, "memory_get", f"memory_id={stored['memory_id']}"))
    assert got["content"] == content
    deleted = tool(call_tool(inspect, "memory_delete", f"memory_id={stored['memory_id']}"))
    assert deleted["status"] == "deleted"
    missing = call_tool(inspect, "memory_get", f"memory_id={stored['memory_id']}")
    assert missing["isError"] is True and missing["content"][0]["text"].startswith("[not_found]")


def test_inspector_runs_the_basic_flow_over_stdio(inspector: list[str], memorylayer_home: Path) -> None:
    target = ["-e", f"MEMORYLAYER_HOME={memorylayer_home}", memorylayer(), "mcp"]
    basic_flow(lambda *args: run_inspector(inspector, target, *args))


def test_inspector_runs_the_basic_flow_over_http(inspector: list[str], tmp_path: Path, serve_mcp: Any) -> None:
    with serve_mcp(tmp_path / "server") as served:
        target = [
            served.url,
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {served.keys['alice']}",
        ]
        basic_flow(lambda *args: run_inspector(inspector, target, *args))
