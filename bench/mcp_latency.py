"""memory_search latency: in-process engine vs the MCP tool over stdio and over HTTP, in one run.

All three search the same database (a fresh home with ``--memories`` memories) with the same
queries; the MCP legs are measured from the client's side (``call_tool`` round trip, server
warm). Writes the medians into the ``mcp-latency`` section of docs/benchmarks.md.

    .venv/bin/python bench/mcp_latency.py [--memories 500] [--queries 60] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from report import write_section

HERE = Path(__file__).resolve().parent

SUBJECTS = ["The user", "Their manager", "Their sister", "The team", "Their landlord", "Their dentist"]
VERBS = ["prefers", "dislikes", "recommended", "asked about", "is planning", "forgot about"]
OBJECTS = [
    "hiking in the Alps",
    "Python type hints",
    "oat milk lattes",
    "the quarterly report",
    "jazz records",
    "a trip to Kyoto",
    "dark mode editors",
    "sourdough baking",
    "the new office in Lyon",
    "electric bikes",
    "vintage cameras",
    "the Rust rewrite",
    "marathon training",
    "board games on Fridays",
    "Thai curry",
]
TEMPLATES = ["what do we know about", "anything on", "who mentioned", "notes about"]
QUERIES = [
    "what does the user like to drink?",
    "travel plans",
    "programming preferences",
    "music taste",
    "anything about the office move",
    "sports and fitness",
    "food the user enjoys",
    "hobbies on weekends",
    "what did the manager recommend?",
    "family news",
]


def corpus(n: int) -> list[str]:
    out = [f"{s} {v} {o}" for o in OBJECTS for s in SUBJECTS for v in VERBS]
    return [
        f"{text} (note {i // len(out) + 1})" if i >= len(out) else text
        for i, text in enumerate(out * (n // len(out) + 1))
    ][:n]


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def unique_queries(n: int) -> list[str]:
    """Distinct queries, so no leg is helped by a cache the others miss."""
    out = [f"{template} {obj}" for obj in OBJECTS for template in TEMPLATES]
    return (out * (n // len(out) + 1))[:n]


@asynccontextmanager
async def stdio_client(home: Path) -> AsyncIterator[Any]:
    from mcp import Client, StdioServerParameters

    script = Path(sys.executable).with_name("memorylayer")
    command = str(script) if script.exists() else shutil.which("memorylayer") or "memorylayer"
    params = StdioServerParameters(command=command, args=["mcp"], env={"MEMORYLAYER_HOME": str(home)})
    async with Client(params, read_timeout_seconds=120) as client:
        yield client


@asynccontextmanager
async def http_client(home: Path) -> AsyncIterator[Any]:
    import httpx2
    import uvicorn
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from memorylayer.config import Settings
    from memorylayer.server import create_app
    from memorylayer.server.admin import create_account, create_key

    os.environ["MEMORYLAYER_MCP_DAILY_LIMITS"] = "free=1000000,enterprise=1000000"
    app = create_app(Settings.load(home=home))
    srv = app.state.server
    account = create_account(srv.store, srv.server, "bench@example.com", plan="enterprise")
    _, key = create_key(srv.store, account.id, scopes="memory:read,memory:write")
    # The key's tenant gets the same memories as the local one.
    local = srv.engine.for_account("local")
    srv.engine.for_account(account.id).add_many("bench", [m.value for m in local.iter_all()], dedup=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await anyio.sleep(0.05)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
        ):
            yield client
    finally:
        server.should_exit = True
        thread.join(30)
        srv.engine.close()


async def measure(home: Path, queries: list[str]) -> dict[str, list[float]]:
    """Round-robin over the three legs, query by query, so machine noise hits all of them alike."""
    from memorylayer.engine import Engine

    samples: dict[str, list[float]] = {"local": [], "stdio": [], "http": []}
    with Engine.open(home) as engine:
        async with stdio_client(home) as stdio, http_client(home) as http:

            async def local(q: str) -> Any:
                return engine.search(q, top_k=5)

            legs: dict[str, Callable[[str], Awaitable[Any]]] = {
                "local": local,
                "stdio": lambda q: stdio.call_tool("memory_search", {"query": q, "top_k": 5}),
                "http": lambda q: http.call_tool("memory_search", {"query": q, "top_k": 5}),
            }
            for q in QUERIES:  # warm-up: models loaded, indexes built
                for leg in legs.values():
                    await leg(q)
            for q in queries:
                for name, leg in legs.items():
                    start = time.perf_counter()
                    await leg(q)
                    samples[name].append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=500)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    from memorylayer.engine import Engine

    queries = unique_queries(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        with Engine.open(home) as engine:
            engine.add_many("bench", corpus(args.memories), dedup=False)
        samples = anyio.run(measure, home, queries)
    local, stdio, http = samples["local"], samples["stdio"], samples["http"]

    base = p50_ms(local)
    rows = [
        ("in-process `Engine.search`", local),
        ("MCP `memory_search`, stdio", stdio),
        ("MCP `memory_search`, HTTP", http),
    ]
    lines = [
        "## MCP `memory_search` latency",
        "",
        (
            f"`bench/mcp_latency.py`, {datetime.now(UTC).strftime('%Y-%m-%d')}, {platform.machine()} "
            f"{os.cpu_count()} cores, Python {platform.python_version()}: {args.memories} memories, "
            f"{len(queries)} distinct queries, top_k 5, warm servers, the three legs measured round-robin "
            "in one run."
        ),
        "",
        "| path | p50 (ms) | p90 (ms) | × in-process |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, samples in rows:
        p90 = statistics.quantiles(samples, n=10)[-1] * 1000
        lines.append(f"| {name} | {p50_ms(samples):.1f} | {p90:.1f} | {p50_ms(samples) / base:.2f} |")
    lines += [
        "",
        "The MCP legs add JSON-RPC framing, validation and a worker-thread hop (stdio), plus an HTTP",
        "request with API-key authentication, metering and the daily-limit count (HTTP).",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("mcp-latency", section)


if __name__ == "__main__":
    main()
