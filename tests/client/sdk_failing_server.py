"""A stand-in /v1 server for failure modes the real server never produces on demand.

Routes answer a scripted list of failures first (``fail(times, status, ...)``), then succeed. The
extraction route (``POST /v1/memories`` without ``key``) commits its result under the request's
``Idempotency-Key`` *before* answering a scripted failure, the way a response lost after the work was
done looks to a client; a repeated key replays the stored result without extracting again.
``GET /v1/health`` waits (bounded) for ``release`` on its first ``slow_first`` calls so timeouts can be
provoked over a real socket.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

STAMP = "2026-01-02T03:04:05.678Z"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    status: int
    code: str | None
    retry_after: str | None
    text: str | None


@dataclass
class FailingServer:
    """State of the stand-in: what it has seen, what it will fail with, how often it extracted."""

    seen: list[Seen] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    extractions: int = 0
    exchanges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    slow_calls: int = 0
    slow_first: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def fail(
        self,
        times: int,
        status: int,
        *,
        code: str | None = "internal_error",
        retry_after: str | None = None,
        text: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (JSON envelope, or ``text`` as plain text)."""
        self.failures.extend(Failure(status, code, retry_after, text) for _ in range(times))

    def attempts(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/health", self._health, methods=["GET"]),
                Route("/v1/memories", self._add, methods=["POST"]),
                Route("/v1/containers", self._create_container, methods=["POST"]),
            ]
        )

    # --- plumbing -----------------------------------------------------------------------------------

    async def _record(self, request: Request) -> Seen:
        raw = await request.body()
        body = None
        if raw:
            body = json.loads(raw)
        seen = Seen(request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
        self.seen.append(seen)
        return seen

    def _scripted_failure(self) -> Response | None:
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        headers = {"X-Request-Id": f"req-{uuid.uuid4()}"}
        if failure.retry_after is not None:
            headers["Retry-After"] = failure.retry_after
        if failure.text is not None:
            return PlainTextResponse(failure.text, status_code=failure.status, headers=headers)
        envelope = {
            "code": failure.code,
            "message": f"scripted {failure.status}",
            "request_id": headers["X-Request-Id"],
        }
        return JSONResponse({"error": envelope}, status_code=failure.status, headers=headers)

    @staticmethod
    def _ok(payload: dict[str, Any], status: int = 200) -> JSONResponse:
        request_id = f"req-{uuid.uuid4()}"
        return JSONResponse({**payload, "request_id": request_id}, status, headers={"X-Request-Id": request_id})

    # --- routes -------------------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        await self._record(request)
        self.slow_calls += 1
        if self.slow_calls <= self.slow_first:
            await anyio.to_thread.run_sync(self._slow_wait)
        return self._scripted_failure() or self._ok({"health": {"status": "ok", "version": "stand-in"}})

    async def _add(self, request: Request) -> Response:
        seen = await self._record(request)
        body = seen.body or {}
        if "key" in body:
            return self._scripted_failure() or self._ok({"memories": [self._memory(body, body["key"])]})
        idem = seen.headers.get("idempotency-key")
        if idem is not None and idem in self.exchanges:
            memories = self.exchanges[idem]
        else:
            self.extractions += 1
            memories = [self._memory(body, None)]
            if idem is not None:
                self.exchanges[idem] = memories
        return self._scripted_failure() or self._ok({"memories": memories})

    async def _create_container(self, request: Request) -> Response:
        seen = await self._record(request)
        container = {"id": str(uuid.uuid4()), "parentAccountId": str(uuid.uuid4()), "name": seen.body["name"],
                     "metadata": {}, "createdAt": STAMP}  # fmt: skip
        return self._scripted_failure() or self._ok({"container": container}, 201)

    def _slow_wait(self) -> None:
        self.release.wait(timeout=10)

    @staticmethod
    def _memory(body: dict[str, Any], key: str | None) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "scope": body.get("scope", ""),
            "key": key,
            "value": body.get("value", "") if key else f"User said: {body.get('value', '')}",
            "source": "explicit" if key else "extracted",
            "status": "ready",
            "statusError": None,
            "createdAt": STAMP,
            "updatedAt": STAMP,
        }
