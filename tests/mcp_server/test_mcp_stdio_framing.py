"""`memorylayer mcp` over stdio answers every malformed message, so no client waits for its timeout."""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_mcp_stdio import memorylayer_command

from memorylayer.mcp_server.framing import INVALID_REQUEST, PARSE_ERROR

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MALFORMED = [
    pytest.param(b"not json at all", PARSE_ERROR, None, id="not-json"),
    pytest.param(b'{"jsonrpc": "2.0", "id": 5, "method": "ping"', PARSE_ERROR, None, id="truncated"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":6,"method":"ping","params":{"x":"\\ud800"}}', PARSE_ERROR, None, id="surrogate"
    ),
    pytest.param(b"[" * 5_000 + b"]" * 5_000, PARSE_ERROR, None, id="deep"),
    pytest.param(b"\xff\xfe\x00garbage", PARSE_ERROR, None, id="bytes"),
    pytest.param(b'{"hello": "world", "id": 7}', INVALID_REQUEST, 7, id="not-a-message"),
    pytest.param(b"[]", INVALID_REQUEST, None, id="empty-batch"),
]


class Stdio:
    """The installed command over real pipes; each answer is read with a bound."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "MEMORYLAYER_HOME": str(home)}
        self.process = subprocess.Popen(
            [*memorylayer_command(), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._buffer = b""

    def send(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def answer(self, timeout: float = 30) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, "no answer within the bound"
            chunk = os.read(fd, 65_536)
            assert chunk, "the server closed stdout"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None and self.process.stderr is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
            self.process.stdout.close()
            self.process.stderr.close()


@pytest.fixture(scope="module")
def stdio(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = Stdio(tmp_path_factory.mktemp("stdio-home"))
    server.send(json.dumps(INITIALIZE).encode())
    assert server.answer()["id"] == 1
    server.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    yield server
    server.close()


@pytest.mark.parametrize(("line", "code", "request_id"), MALFORMED)
def test_a_malformed_message_gets_a_json_rpc_error_and_the_session_goes_on(
    stdio: Stdio, line: bytes, code: int, request_id: Any
) -> None:
    stdio.send(line)
    answer = stdio.answer()
    assert answer["jsonrpc"] == "2.0" and answer["id"] == request_id
    assert answer["error"]["code"] == code, answer
    stdio.send(b'{"jsonrpc":"2.0","id":99,"method":"ping"}')
    assert stdio.answer() == {"jsonrpc": "2.0", "id": 99, "result": {}}


def test_a_tool_call_with_deep_arguments_is_a_tool_error_not_a_hang(stdio: Stdio) -> None:
    deep: Any = "leaf"
    for _ in range(60):
        deep = {"x": deep}
    call = {
        "jsonrpc": "2.0",
        "id": 100,
        "method": "tools/call",
        "params": {"name": "memory_store", "arguments": {"content": "a fact", "metadata": deep}},
    }
    stdio.send(json.dumps(call).encode())
    answer = stdio.answer()
    assert answer["id"] == 100 and answer["result"]["isError"] is True
    assert answer["result"]["content"][0]["text"].startswith("[invalid_request]")
