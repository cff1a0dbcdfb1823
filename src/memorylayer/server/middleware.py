"""The outermost layer of every HTTP request: request id, body-size limit, one log line, JSON 500s.

It sits outside the routes and ``/mcp`` alike, so no request body is read past
:data:`~memorylayer.limits.REQUEST_BODY_MAX_BYTES` and every request writes exactly one log line,
with control characters escaped (a ``%0a`` in a path cannot start a forged line) and the secrets a
path can carry (claim tokens) redacted.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InternalError, MemoryLayerError, PayloadTooLarge, RateLimited
from ..limits import REQUEST_BODY_MAX_BYTES, SYNC_BLOB_MAX_BYTES, TARBALL_MAX_BYTES

log = logging.getLogger("memorylayer.server")
#: Characters escaped in log lines: C0/C1 controls, DEL, the backslash itself (so an escape in the
#: input cannot pass for one of ours) and the Unicode line and paragraph separators.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\\u2028\u2029]")
#: Path segments that are secrets: what follows the prefix is replaced by ``<redacted>``.
_SECRET_PATHS = re.compile(r"^(/claim/)[^/]+")
_LOGGED_MAX = 200


def log_safe(text: str, limit: int = _LOGGED_MAX) -> str:
    """``text`` as one printable log field: unsafe characters as ``\\xNN``/``\\uNNNN``, cut at ``limit``."""

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        return "\\\\" if char == "\\" else f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    shown = _UNSAFE.sub(escape, text[:limit])
    return shown + ("…" if len(text) > limit else "")


def loggable_path(path: str) -> str:
    """A request path fit for the log: secret segments redacted, then escaped."""
    return log_safe(_SECRET_PATHS.sub(r"\1<redacted>", path))


def envelope(error: MemoryLayerError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of the JSON error envelope for ``error``."""
    payload = {"error": {**error.to_dict(), "request_id": request_id}}
    body = json.dumps(payload).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(error, RateLimited):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    return error.status, headers, body


def _too_large(max_body: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds {max_body} bytes", details={"maxBytes": max_body})


class RequestContext:
    """Request id in and out, the body-size limit, one log line per request, JSON 500 for the unexpected."""

    def __init__(self, app: ASGIApp, *, max_body: int = REQUEST_BODY_MAX_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id") or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid
        status: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"],
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        failure = ""
        # A package upload is a tarball of up to TARBALL_MAX_BYTES, streamed to disk by its route.
        upload = scope["method"] == "PUT" and scope["path"].startswith("/registry/v1/packages/")
        # A sync blob is streamed to disk too; its route applies the plan's own, lower limit.
        sync = scope["method"] == "PUT" and scope["path"] == "/registry/v1/sync/blob"
        max_body = TARBALL_MAX_BYTES if upload else SYNC_BLOB_MAX_BYTES if sync else self.max_body
        try:
            if _declared_length(headers) > max_body:
                await self._refuse(scope, send_with_id, _too_large(max_body), rid)
            else:
                await self.app(scope, self._limited(receive, max_body), send_with_id)
        except MemoryLayerError as error:  # a refusal raised outside the routes (e.g. by /mcp's transport)
            if not status:
                await self._refuse(scope, send_with_id, error, rid)
        except Exception as exc:
            failure = f" error={type(exc).__name__}"
            # One line, escaped like the rest: an exception's text can quote the request.
            trace = log_safe("".join(traceback.format_exception(exc)), 20_000)
            log.error("unhandled error on %s %s (request_id=%s): %s", *_what(scope), log_safe(rid), trace)
            if not status:
                await self._refuse(scope, send_with_id, _internal(exc), rid)
        finally:
            client = headers.get("x-withmemory-client", "")
            log.info(
                "%s %s %s client=%s request_id=%s%s",
                *_what(scope),
                status[0] if status else "-",
                log_safe(client, 128) or "-",
                log_safe(rid, 128),
                failure,
            )

    def _limited(self, receive: Receive, max_body: int) -> Receive:
        """``receive`` that refuses a body growing past the limit (chunked bodies declare no length)."""
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    raise _too_large(max_body)
            return message

        return limited

    @staticmethod
    async def _refuse(scope: Scope, send: Send, error: MemoryLayerError, rid: str) -> None:
        status, headers, body = envelope(error, rid)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _declared_length(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("content-length", "0") or 0)
    except ValueError:
        return 0


def _what(scope: Scope) -> tuple[str, str]:
    return log_safe(str(scope.get("method", "")), 16), loggable_path(str(scope.get("path", "")))


def _internal(exc: Exception) -> MemoryLayerError:
    return exc if isinstance(exc, MemoryLayerError) else InternalError("Internal server error")
