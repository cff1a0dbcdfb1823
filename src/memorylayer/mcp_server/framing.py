"""An answer for every malformed message on a stream transport (stdio).

The SDK's stdio transport hands a line it cannot parse to the server as an exception, which the
server logs at debug level and drops, so the client waits for an answer until its timeout.
:class:`AnswerMalformed` wraps the transport's read stream: each such exception is answered on the
write stream with the JSON-RPC error the specification asks for (``-32700`` Parse error for text
that is not JSON, with a lone surrogate or nested too deep; ``-32600`` Invalid Request for JSON that
is not a JSON-RPC message), and reading goes on with the next message.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import anyio
from mcp.shared.message import SessionMessage
from mcp_types import ErrorData, JSONRPCError
from pydantic import ValidationError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def error_for(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error answering the message ``exc`` was raised for (id null unless it had a usable one)."""
    issues = exc.errors(include_url=False) if isinstance(exc, ValidationError) else []
    parsed = bool(issues) and not any(issue["type"] == "json_invalid" for issue in issues)
    request_id: Any = None
    for issue in issues:
        given = issue.get("input")
        if isinstance(given, dict) and isinstance(given.get("id"), str | int) and not isinstance(given["id"], bool):
            request_id = given["id"]
            break
    if parsed:
        error = ErrorData(code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 message")
    else:
        error = ErrorData(code=PARSE_ERROR, message="Parse error: not valid JSON (or nested too deep)")
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


class AnswerMalformed:
    """A read stream that answers malformed messages itself and passes every other item on."""

    def __init__(self, read_stream: Any, write_stream: Any) -> None:
        self._read = read_stream
        self._write = write_stream

    @property
    def last_context(self) -> Any:
        return getattr(self._read, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._read.receive()
            if not isinstance(item, Exception):
                return item  # type: ignore[no-any-return]
            try:
                await self._write.send(SessionMessage(error_for(item)))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass  # the session is over; keep draining until the transport ends

    async def aclose(self) -> None:
        await self._read.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None
