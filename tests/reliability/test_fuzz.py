"""A fuzz pass (hypothesis): request schemas, every body route, the MCP tools, the CLI and the importer.

Inputs mix well-formed values with what hostile clients send: control characters, NUL, lone
surrogates, huge and deeply nested values, wrong types, unknown keys, bytes that are not JSON.
Whatever comes in, the answer is a success or a refusal with a stable code (the HTTP envelope, a
``[code] message`` tool error, a documented exit status), never a 500, a traceback or a hang, and a
refused write leaves nothing behind. Examples are derandomized and bounded so the pass is the same
on every run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client as McpClient
from typer.testing import CliRunner

from memorylayer.cli import app as cli
from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest, error_classes
from memorylayer.limits import has_lone_surrogate
from memorylayer.mcp_server import LocalAccess, build_server
from memorylayer.server import admin, create_app
from memorylayer.server import validation as v

#: Examples per fuzzed target; docs/reliability.md counts them.
SCHEMA_EXAMPLES, ROUTE_EXAMPLES, TOOL_EXAMPLES, CLI_EXAMPLES, IMPORT_EXAMPLES = 100, 50, 40, 25, 60
CODES = set(error_classes())
EXIT_STATUSES = {0, 1, 2, 3, 4, 6, 7}
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOSTILE = st.sampled_from(
    ["", " ", "\t", "\x00", "a\x00b", "k\n", "\ud800", "x\udfff", "\u2028", "\x1b[31m", "é", "😀" * 130, "k" * 300]
)
TEXT = st.text(max_size=30) | HOSTILE | st.text(st.characters(codec="utf-8"), max_size=10)


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    scalar = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | text
    return st.recursive(scalar, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=12)


JSON_VALUE = json_values(TEXT)
#: The MCP SDK client cannot send a lone surrogate at all; the stdio tests send one as raw bytes.
SENDABLE = json_values(TEXT.filter(lambda t: not has_lone_surrogate(t)))
SCHEMAS = [s for s in vars(v).values() if isinstance(s, v.Schema)]


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def body_for(schema: v.Schema) -> st.SearchStrategy[Any]:
    """Objects with the schema's fields (any values, some missing, some extra) or any JSON at all."""
    fields = st.fixed_dictionaries({}, optional={name: JSON_VALUE for name in schema.fields})
    extra = st.dictionaries(TEXT, JSON_VALUE, max_size=2)
    mixed = st.tuples(fields, extra).map(lambda pair: {**pair[1], **pair[0]})
    return mixed | JSON_VALUE | st.integers(30, 80).map(_deep)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name or "Empty")
def test_schema_validation_only_ever_answers_a_body_or_invalid_request(schema: v.Schema) -> None:
    @settings(FUZZ, max_examples=SCHEMA_EXAMPLES)
    @given(body_for(schema))
    def check(body: Any) -> None:
        try:
            out = schema.validate(body)
        except InvalidRequest as exc:
            assert isinstance(exc.details, list) and exc.details
            assert all({"code", "path", "message"} <= set(issue) for issue in exc.details)
            return
        assert isinstance(out, dict) and set(out) <= set(schema.fields)

    check()


# -- every body route of the real app ---------------------------------------------------------------
ROUTES = [
    ("/v1/memories", "user"),
    ("/v1/memories/get", "user"),
    ("/v1/memories/remove", "user"),
    ("/v1/memories/list", "user"),
    ("/v1/recall", "user"),
    ("/v1/account/extraction-prompt", "user"),
    ("/v1/containers", "user"),
    ("/v1/cache", None),
    ("/v1/cache/preview", None),
    ("/v1/cache/set", "cache"),
    ("/v1/cache/get", "cache"),
    ("/v1/cache/delete", "cache"),
    ("/v1/cache/claim", "user"),
    ("/v1/auth/request-code", None),
    ("/v1/auth/verify-code", None),
]
RAW = (
    JSON_VALUE.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass"))
    | st.binary(max_size=64)
    | st.integers(30, 5_000).map(lambda d: b"[" * d + b'"leaf"' + b"]" * d)
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[Any, Any]]]:
    home = tmp_path_factory.mktemp("fuzz-home")
    (home / "server.toml").write_text("cache_creations_per_ip = 100000\ncodes_per_ip_per_hour = 100000\n")
    application = create_app(Settings.load(home=home))
    srv = application.state.server
    account = admin.create_account(srv.store, srv.server, "fuzz@example.com", plan="pro")
    key = admin.create_key(srv.store, account.id)[1]
    with TestClient(application, raise_server_exceptions=False) as client:
        cache = client.post("/v1/cache", json={}).json()["cache"]["rawToken"]
        yield client, {"user": key, "cache": cache, None: None}
    srv.engine.close()


def _assert_envelope_or_success(response: Any) -> None:
    assert response.status_code < 500 or response.json()["error"]["code"] == "not_configured", response.text
    payload = response.json()
    if response.status_code >= 400:
        assert payload["error"]["code"] in CODES and payload["error"]["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(("path", "who"), ROUTES, ids=[p for p, _ in ROUTES])
def test_no_body_on_any_route_gets_a_500(served: tuple[TestClient, dict[Any, Any]], path: str, who: Any) -> None:
    client, keys = served
    schema = next((s for s in SCHEMAS if s is _schema_of(path)), None)
    bodies = RAW | (body_for(schema).map(lambda b: json.dumps(b).encode("utf-8", "surrogatepass")) if schema else RAW)

    @settings(FUZZ, max_examples=ROUTE_EXAMPLES)
    @given(bodies)
    def check(raw: bytes) -> None:
        headers = {"content-type": "application/json"}
        if keys[who]:
            headers["Authorization"] = f"Bearer {keys[who]}"
        _assert_envelope_or_success(client.post(path, content=raw, headers=headers))

    check()


def _schema_of(path: str) -> v.Schema | None:
    return {
        "/v1/memories": v.ADD,
        "/v1/memories/get": v.GET,
        "/v1/memories/remove": v.REMOVE,
        "/v1/memories/list": v.LIST,
        "/v1/recall": v.RECALL,
        "/v1/account/extraction-prompt": v.EXTRACTION_PROMPT,
        "/v1/containers": v.CONTAINER_CREATE,
        "/v1/cache": v.CACHE_CREATE,
        "/v1/cache/preview": v.CLAIM_TOKEN,
        "/v1/cache/set": v.CACHE_SET,
        "/v1/cache/get": v.CACHE_KEY,
        "/v1/cache/delete": v.CACHE_KEY,
        "/v1/cache/claim": v.CLAIM_TOKEN,
        "/v1/auth/request-code": v.REQUEST_CODE,
        "/v1/auth/verify-code": v.VERIFY_CODE,
    }.get(path)


# -- the MCP tools ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BlockingPortal, McpClient]]:
    engine = Engine.open(tmp_path_factory.mktemp("fuzz-mcp"))
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(McpClient(build_server(LocalAccess(engine)))) as client,
    ):
        yield portal, client
    engine.close()


TOOLS = [
    "memory_store",
    "memory_search",
    "memory_get",
    "memory_update",
    "memory_delete",
    "memory_list_namespaces",
    "memory_list",
    "memory_recall",
]
ARGUMENT_NAMES = ["content", "namespace", "query", "memory_id", "metadata", "top_k", "limit", "offset", "threshold"]


@pytest.mark.parametrize("tool", TOOLS)
def test_no_tool_argument_gets_anything_but_a_result_or_a_coded_tool_error(
    tools: tuple[BlockingPortal, McpClient], tool: str
) -> None:
    portal, client = tools
    arguments = st.fixed_dictionaries({}, optional={name: SENDABLE for name in ARGUMENT_NAMES}) | st.dictionaries(
        st.text(max_size=20), SENDABLE, max_size=3
    )

    @settings(FUZZ, max_examples=TOOL_EXAMPLES)
    @given(arguments)
    def check(args: dict[str, Any]) -> None:
        result = portal.call(client.call_tool, tool, args)
        if result.is_error:
            text = result.content[0].text  # type: ignore[union-attr]
            assert text.startswith("[") and text[1 : text.index("]")] in CODES, text

    check()


# -- the CLI --------------------------------------------------------------------------------------------
COMMANDS = [
    ["remember", "{a}"],
    ["remember", "{a}", "--key", "{b}", "--namespace", "{c}"],
    ["remember", "x", "--metadata", "{a}"],
    ["recall", "{a}", "-n", "{b}"],
    ["search", "{a}", "--top-k", "{n}"],
    ["get", "{a}"],
    ["get", "--key", "{a}", "-n", "{b}"],
    ["list", "--namespace", "{a}", "--source", "{b}", "--cursor", "{c}", "--limit", "{n}"],
    ["forget", "{a}"],
    ["history", "--key", "{a}", "-n", "{b}"],
]
ARGUMENT = st.text(st.characters(exclude_characters="\x00"), max_size=20) | st.sampled_from(
    ["", " ", "\n", "k\x1b", "\udcff", "-1", "0", "99999999999999999999", "{}", '{"a": [[[[]]]]}', "--json"]
)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_no_cli_argument_gets_a_traceback(tmp_path_factory: pytest.TempPathFactory, command: list[str]) -> None:
    home = tmp_path_factory.mktemp("fuzz-cli")
    runner = CliRunner()

    @settings(FUZZ, max_examples=CLI_EXAMPLES)
    @given(st.fixed_dictionaries({"a": ARGUMENT, "b": ARGUMENT, "c": ARGUMENT, "n": ARGUMENT}))
    def check(values: dict[str, str]) -> None:
        args = [part.format(**values) if part.startswith("{") else part for part in command]
        result = runner.invoke(cli, [*args, "--home", str(home), "--json"])
        assert result.exit_code in EXIT_STATUSES, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        if result.exit_code not in (0, 2) or result.stdout.startswith('{\n  "error"'):
            error = json.loads(result.stdout)["error"]
            assert error["code"] in CODES

    check()


# -- the JSON Lines importer ---------------------------------------------------------------------------
MEMORY_LINE = st.fixed_dictionaries(
    {"value": TEXT | JSON_VALUE},
    optional={
        "scope": TEXT | JSON_VALUE,
        "key": TEXT | JSON_VALUE,
        "metadata": JSON_VALUE,
        "importance": JSON_VALUE,
        "created_at": JSON_VALUE | st.sampled_from(["2024-01-01T00:00:00Z", "1969-07-20T20:17:00Z", "soon"]),
    },
)
LINE = (
    MEMORY_LINE.map(lambda d: json.dumps(d))
    | JSON_VALUE.map(json.dumps)
    | st.text(max_size=40)
    | st.integers(30, 3_000).map(lambda d: '{"scope": "s", "value": "v", "metadata": {"x": ' + "[" * d + "]" * d + "}}")
)


@pytest.fixture(scope="module")
def importer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = Engine.open(tmp_path_factory.mktemp("fuzz-import"))
    yield engine
    engine.close()


def test_an_import_writes_every_line_or_nothing(importer: Engine) -> None:
    counter = iter(range(10**9))

    @settings(FUZZ, max_examples=IMPORT_EXAMPLES)
    @given(st.lists(LINE, min_size=1, max_size=6))
    def check(lines: list[str]) -> None:
        tenant = importer.for_account(f"fuzz-{next(counter)}")
        text = "\n".join(lines) + "\n"
        stream = io.TextIOWrapper(
            io.BytesIO(text.encode("utf-8", "surrogateescape")), encoding="utf-8", errors="surrogateescape"
        )
        try:
            written = tenant.import_jsonl(stream, scope=None)
        except InvalidRequest as exc:
            assert exc.message.startswith(("line ", "after line")), exc.message
            assert tenant.count() == 0
            return
        # Keyed lines upsert, so a key written twice counts twice but is one memory.
        assert tenant.count() <= written <= sum(1 for line in lines if line.strip())

    check()


def test_the_fuzz_pass_is_the_size_docs_reliability_md_says(tmp_path: Path) -> None:
    total = (
        len(SCHEMAS) * SCHEMA_EXAMPLES
        + len(ROUTES) * ROUTE_EXAMPLES
        + len(TOOLS) * TOOL_EXAMPLES
        + len(COMMANDS) * CLI_EXAMPLES
        + IMPORT_EXAMPLES
    )
    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f"{total:,} fuzz cases" in doc
