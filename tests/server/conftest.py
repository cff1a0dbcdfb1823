"""The real server app on a real SQLite file in a tmp dir, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import Server, build

from standins.openai_chat import ChatCompletionsStandIn

#: What the chat-completions stand-in accepts and the server is configured with in ``llm_srv``.
LLM_KEY, LLM_MODEL = "sk-test", "test-model"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEMORYLAYER_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def srv(home: Path) -> Iterator[Server]:
    server = build(home)
    with server.client:
        yield server
    server.state.engine.close()


@pytest.fixture
def user(srv: Server) -> str:
    """A raw full-scope key of a free account."""
    return srv.account("user@example.com")[1]


@pytest.fixture
def pro(srv: Server) -> str:
    """A raw full-scope key of a pro account."""
    return srv.account("pro@example.com", plan="pro")[1]


@pytest.fixture
def llm() -> Iterator[ChatCompletionsStandIn]:
    """A local stand-in for an OpenAI-compatible chat-completions server (tests/standins/openai_chat.py)."""
    with ChatCompletionsStandIn(api_key=LLM_KEY, model=LLM_MODEL) as server:
        yield server


@pytest.fixture
def llm_srv(home: Path, llm: ChatCompletionsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The server configured with ``llm`` as its model."""
    monkeypatch.setenv("MEMORYLAYER_LLM_BASE_URL", llm.base_url)
    monkeypatch.setenv("MEMORYLAYER_LLM_MODEL", LLM_MODEL)
    monkeypatch.setenv("MEMORYLAYER_LLM_API_KEY", LLM_KEY)
    server = build(home)
    with server.client:
        yield server
    server.state.engine.close()
