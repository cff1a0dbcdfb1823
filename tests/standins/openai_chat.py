"""A STAND-IN for an OpenAI-compatible chat-completions server, for tests only.

It is a real HTTP server (stdlib ``http.server`` on 127.0.0.1, a free port, one thread per
request) that speaks just enough of the ``POST /chat/completions`` protocol to exercise
:class:`memorylayer.engine.extraction.OpenAIExtractor` end to end, with no network and no model:

* it checks the ``Authorization: Bearer`` header, the ``model``, ``response_format`` and the
  ``messages`` shape, answering 401 / 404 / 400 JSON errors the way OpenAI does;
* it records every request (headers and JSON body) in :attr:`requests`;
* it answers whatever the test configured: message ``content`` (valid JSON facts, invalid JSON,
  a wrong shape), content computed from each request's messages (:meth:`reply_with`, for a
  benchmark's scripted answerer), a raw HTTP status and body, or a slow answer that waits on an event.

Usage::

    with ChatCompletionsStandIn(api_key="sk-test", model="gpt-test") as server:
        server.reply_content('{"memories": ["User is vegan."]}')
        extractor = OpenAIExtractor(server.base_url, "gpt-test", api_key="sk-test")
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

#: Upper bound on how long a "slow" answer holds its request open, so no test can hang.
MAX_HOLD_SECONDS = 10.0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


class ChatCompletionsStandIn:
    """Stand-in chat-completions server; see the module docstring."""

    def __init__(self, *, api_key: str = "sk-standin", model: str = "standin-model") -> None:
        self.api_key = api_key
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._status = 200
        self._raw: str | None = None
        self._content: Any = '{"memories": []}'
        self._answerer: Callable[[str, str], Any] | None = None
        self._hold = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="chat-standin", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=MAX_HOLD_SECONDS)

    # -- what to answer ---------------------------------------------------------------------

    def reply_content(self, content: Any) -> None:
        """Answer 200 with a chat completion whose message content is ``content`` (any JSON value)."""
        with self._lock:
            self._status, self._raw, self._content, self._answerer, self._hold = 200, None, content, None, False

    def reply_memories(self, memories: list[Any]) -> None:
        """Answer 200 with content ``{"memories": memories}`` serialised as JSON."""
        self.reply_content(json.dumps({"memories": memories}))

    def reply_with(self, answerer: Callable[[str, str], Any]) -> None:
        """Answer 200 with content ``answerer(system, user)``: computed from each request's two messages."""
        with self._lock:
            self._status, self._raw, self._answerer, self._hold = 200, None, answerer, False

    def reply_raw(self, status: int, body: str) -> None:
        """Answer ``status`` with ``body`` verbatim (for HTTP errors and non-JSON bodies)."""
        with self._lock:
            self._status, self._raw, self._hold = status, body, False

    def reply_slowly(self) -> None:
        """Hold every request until :attr:`release` is set (at most ``MAX_HOLD_SECONDS``)."""
        with self._lock:
            self._hold = True

    # -- the protocol -----------------------------------------------------------------------

    def _answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, str]:
        try:
            body = json.loads(raw_body or b"null")
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(RecordedRequest(path, headers, body))
            status, raw, content, hold = self._status, self._raw, self._content, self._hold
            answerer = self._answerer
        if hold:
            self.release.wait(MAX_HOLD_SECONDS)
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, _error(f"Unknown path {path}", "invalid_request_error")
        if headers.get("authorization") != f"Bearer {self.api_key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            # Like the real service, echo (part of) the wrong key back: clients must not repeat it.
            return 401, _error(f"Incorrect API key provided: {given}.", "invalid_api_key")
        problem = self._problem(body)
        if problem:
            return problem
        if raw is not None:
            return status, raw
        if answerer is not None:
            content = answerer(body["messages"][0]["content"], body["messages"][1]["content"])
        return 200, json.dumps(_completion(self.model, content))

    def _problem(self, body: Any) -> tuple[int, str] | None:
        if not isinstance(body, dict):
            return 400, _error("We could not parse the JSON body of your request.", "invalid_request_error")
        if body.get("model") != self.model:
            return 404, _error(f"The model `{body.get('model')}` does not exist.", "model_not_found")
        if body.get("response_format") != {"type": "json_object"}:
            return 400, _error("response_format must be json_object for this stand-in.", "invalid_request_error")
        messages = body.get("messages")
        roles = [m.get("role") for m in messages] if isinstance(messages, list) else None
        if roles != ["system", "user"] or not all(isinstance(m.get("content"), str) for m in messages):
            return 400, _error("messages must be [system, user] with string content.", "invalid_request_error")
        return None


def _error(message: str, code: str) -> str:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code}})


def _completion(model: str, content: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _handler_for(server: ChatCompletionsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, text = server._answer(self.path, headers, raw_body)
            payload = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
