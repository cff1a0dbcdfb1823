"""Shared pieces of the HTTP edge: server state, JSON bodies, responses and route declaration."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..config import Settings
from ..errors import InvalidRequest
from ..limits import JSON_MAX_DEPTH, json_depth_exceeds
from ..store.accounts import AccountStore
from ..store.sessions import SessionStore
from ..store.usage import UsageStore
from ..types import MemoryRecord, RecallResult, iso_ms, now_ms
from .settings import ServerSettings
from .validation import Schema

if TYPE_CHECKING:
    from ..engine import Engine

#: A UUID path id; use ``fullmatch`` (``$`` would accept a final newline).
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@dataclass
class ServerState:
    """What every route needs; one per app. ``clock`` returns ms since the epoch (tests move it).

    ``secret`` keys the hashes of sign-in codes (:mod:`.secret`).
    """

    engine: Engine
    store: AccountStore
    settings: Settings
    server: ServerSettings
    secret: bytes
    clock: Callable[[], int] = now_ms

    def now(self) -> int:
        return self.clock()

    def engine_for(self, account_id: str) -> Engine:
        return self.engine.for_account(account_id)

    @property
    def sessions(self) -> SessionStore:
        return self.engine.backend.sessions

    @property
    def usage(self) -> UsageStore:
        return self.engine.backend.usage

    def today(self) -> str:
        """The UTC day of :meth:`now`, as the usage counts record it (``YYYY-MM-DD``)."""
        return utc_day(self.now())


def utc_day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def state(request: Request) -> ServerState:
    server_state: ServerState = request.app.state.server
    return server_state


def request_id(request: Request) -> str:
    rid: str = request.scope.get("state", {}).get("request_id", "")
    return rid


class Json(JSONResponse):
    """A JSON response that stays valid whatever it echoes: text with a lone surrogate (an unknown key
    of the request, quoted back in an issue) is written with ``\\u`` escapes instead of failing."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode("ascii")


def ok(request: Request, payload: dict[str, Any], status: int = 200) -> JSONResponse:
    """A success body: the payload with ``request_id`` as a top-level sibling."""
    return Json({**payload, "request_id": request_id(request)}, status_code=status)


def _no_constants(name: str) -> Any:
    # JSON.parse rejects NaN/Infinity; so do we.
    raise ValueError(name)


def parse_json(raw: bytes, content_type: str) -> Any:
    """The request body as JSON. An empty body is ``{}`` (what upstream validates a bodiless request as).

    A non-empty body must be declared JSON: validating it as ``{}`` (upstream) would silently
    ignore what the client sent.

    Raises:
        InvalidRequest: a non-JSON content type with a body, malformed JSON, or JSON nested deeper
            than ``JSON_MAX_DEPTH``.
    """
    if not raw.strip():
        return {}
    media = content_type.split(";")[0].strip().lower()
    if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        raise InvalidRequest("Content-Type must be application/json")
    too_deep = InvalidRequest(
        f"JSON in request body is nested deeper than {JSON_MAX_DEPTH} levels", details={"maxDepth": JSON_MAX_DEPTH}
    )
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("Malformed JSON in request body") from exc
    if json_depth_exceeds(parsed):
        raise too_deep
    return parsed


def body(schema: Schema) -> Any:
    """A dependency yielding the validated body for ``schema``."""

    async def dependency(request: Request) -> dict[str, Any]:
        raw = await request.body()
        return schema.validate(parse_json(raw, request.headers.get("content-type", "")))

    return Depends(dependency)


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
                "request_id": {"type": "string"},
            },
        }
    },
}

_ERROR_TEXT = {
    400: "Invalid request (`invalid_request`; details carries the issue list)",
    401: "Missing, malformed, unknown, revoked or expired credential (`unauthorized`, `key_expired`, `invalid_code`)",
    403: "Valid credential that may not do this (`insufficient_scope`, `plan_required`, `quota_exceeded`, ...)",
    404: "Not found (`not_found`)",
    409: "Conflict with the current state",
    410: "Gone: the cache has expired (`cache_expired`) or the package version was yanked (`version_yanked`)",
    413: "The request body is too large (`payload_too_large`)",
    429: "Rate or API-call limit reached (`rate_limited`); see Retry-After",
    500: "Unexpected failure (`internal_error`, `extraction_failed`)",
    501: "Not available on a self-hosted server (`not_configured`)",
    503: "The database is unreachable",
}


def route(
    router: APIRouter,
    method: str,
    path: str,
    *,
    summary: str,
    errors: tuple[int, ...],
    schema: Schema | None = None,
    status: int = 200,
    tags: list[str | Enum] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an endpoint with its request body and every status it can answer in the OpenAPI schema."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {
            "description": "Success; the payload carries `request_id` as a top-level sibling",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
    for code in sorted(set(errors) | {500}):
        responses[code] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        if code == 429:
            responses[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    extra: dict[str, Any] | None = None
    if schema is not None:
        extra = {
            "requestBody": {
                # A body whose fields are all optional may be left out (it is validated as {}).
                "required": any(not spec.optional for spec in schema.fields.values()),
                "content": {"application/json": {"schema": schema.json_schema()}},
            }
        }
    return router.api_route(
        path,
        methods=[method],
        summary=summary,
        status_code=status,
        responses=responses,
        openapi_extra=extra,
        response_class=JSONResponse,
        tags=tags,
    )


def memory_json(record: MemoryRecord, scope: str | None = None, *, validity: bool = False) -> dict[str, Any]:
    """The wire Memory object (spec §4), with our extensions only where they say something.

    ``expiresAt`` when the memory has an expiry; ``validFrom`` / ``validTo`` in as-of answers
    (``validity``), so a client using neither extension sees exactly the spec's object.
    """
    data = {
        "id": record.id,
        "scope": scope if scope is not None else record.scope,
        "key": record.key,
        "value": record.value,
        "source": "extracted" if record.source == "extracted" else "explicit",
        "status": record.status if record.status in ("ready", "pending", "failed") else "ready",
        "statusError": None,
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
    }
    if record.expires_at is not None:
        data["expiresAt"] = iso_ms(record.expires_at)
    if validity:
        data["validFrom"] = iso_ms(record.valid_from if record.valid_from is not None else record.created_at)
        data["validTo"] = iso_ms(record.valid_to)
    return data


def recall_json(result: RecallResult, *, validity: bool = False) -> dict[str, Any]:
    """The body of ``POST /v1/recall`` for ``result`` (spec §6), without ``request_id``."""
    ranking: dict[str, Any] = {"strategy": result.ranking.strategy}
    if result.ranking.reason:
        ranking["reason"] = result.ranking.reason
    if result.ranking.strategy != "user_not_found":
        # Extensions typed clients ignore: how the memories were ordered, by what, and their scores.
        ranking["ordering"] = result.ranking.ordering
        ranking["signals"] = result.ranking.signals
        ranking["scores"] = result.ranking.scores
    memories = [memory_json(m, validity=validity) for m in result.memories]
    return {"context": result.context, "memories": memories, "ranking": ranking}


def wants_html(request: Request) -> bool:
    """Whether the client asked for a web page (a browser) rather than JSON (an agent, curl, an SDK)."""
    return "text/html" in request.headers.get("accept", "")


def client_ip(request: Request) -> str:
    """The client address: the operator-trusted proxy header if configured, else the socket peer."""
    header = state(request).server.trusted_ip_header.lower()
    if header:
        value = request.headers.get(header, "")
        if header == "x-forwarded-for":
            value = value.split(",")[0]
        if value.strip():
            return value.strip()
    return request.client.host if request.client else "unknown"


def public_base(request: Request) -> str:
    """The base URL clients reach this server at (``public_url``, else the request's own)."""
    configured = state(request).server.public_url
    return (configured or str(request.base_url)).rstrip("/")


def parse_iso(value: str) -> int:
    """Milliseconds since the epoch for a validated ``...Z`` datetime (negative before 1970).

    Any date the published pattern allows is accepted, year 0000 included (which Python's
    ``datetime`` cannot hold); fraction digits beyond milliseconds are truncated.
    """
    head, _, frac = value[:-1].partition(".")
    year, month, day = int(head[0:4]), int(head[5:7]), int(head[8:10])
    hour, minute = int(head[11:13]), int(head[14:16])
    second = int(head[17:19]) if len(head) > 16 else 0
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    return seconds * 1000 + int((frac + "000")[:3])


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
