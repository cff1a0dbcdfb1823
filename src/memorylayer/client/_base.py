"""The sync core of the SDK: configuration, request building, response parsing and the retry policy.

``Client`` and ``AsyncClient`` only send the requests built here and sleep between attempts; every
rule about the wire (paths, bodies, headers, error codes, which failures are transient) lives in this
module so the two clients cannot drift apart.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from .. import limits as L
from .._version import __version__
from ..errors import MemoryLayerError, NetworkError, RateLimited, Timeout, Unauthorized, error_classes
from . import models as m
from ._checks import (
    BatchItem,
    batch_issues,
    batch_item,
    check,
    extraction_size,
    integer,
    items_list,
    number,
    text,
)
from ._checks import compact as _compact
from ._checks import iso as _iso

T = TypeVar("T", bound=m.Envelope)


def _transport_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    # Starlette's TestClient (and the mcp SDK) use httpx2, the successor of httpx; a client from
    # either library can be passed as ``http_client``, so failures of both are recognised.
    transport: list[type[Exception]] = [httpx.TransportError]
    timeout: list[type[Exception]] = [httpx.TimeoutException]
    try:
        import httpx2
    except ImportError:  # pragma: no cover - httpx2 is optional
        pass
    else:
        transport.append(httpx2.TransportError)
        timeout.append(httpx2.TimeoutException)
    return tuple(transport), tuple(timeout)


TRANSPORT_ERRORS, TIMEOUT_ERRORS = _transport_errors()


class HTTPResponse(Protocol):
    """What the SDK reads from a response of httpx or httpx2."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Any: ...
    @property
    def text(self) -> str: ...
    @property
    def reason_phrase(self) -> str: ...
    @property
    def is_success(self) -> bool: ...
    def json(self) -> Any: ...


class SyncHTTPClient(Protocol):
    """An ``httpx.Client`` or ``httpx2.Client`` (e.g. Starlette's ``TestClient``)."""

    @property
    def build_request(self) -> Callable[..., Any]: ...
    @property
    def send(self) -> Callable[..., Any]: ...
    @property
    def close(self) -> Callable[[], Any]: ...


class AsyncHTTPClient(Protocol):
    """An ``httpx.AsyncClient`` or ``httpx2.AsyncClient``."""

    @property
    def build_request(self) -> Callable[..., Any]: ...
    @property
    def send(self) -> Callable[..., Awaitable[Any]]: ...
    @property
    def aclose(self) -> Callable[[], Awaitable[Any]]: ...


@dataclass(frozen=True)
class Prepared:
    """A request ready for ``http_client.build_request(**prepared.as_kwargs())``."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    timeout: float

    def as_kwargs(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers, "content": self.content,
                "timeout": self.timeout}  # fmt: skip


DEFAULT_BASE_URL = "http://127.0.0.1:8787"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_BACKOFF = 0.5
#: A server asking us to wait longer than this gets the error raised instead of a silent long sleep.
MAX_RETRY_AFTER = 60.0
API_KEY_ENVS = ("MEMORYLAYER_API_KEY", "WITHMEMORY_API_KEY")
BASE_URL_ENVS = ("MEMORYLAYER_BASE_URL", "WITHMEMORY_BASE_URL")
CLIENT_HEADER = "X-WithMemory-Client"

Threshold = Literal["strict", "balanced", "permissive"]
Source = Literal["explicit", "extracted", "all"]
OrderDir = Literal["asc", "desc"]
#: The wire checks an email's length only from above (its format does the rest) and a code's exactly.
_EMAIL = L.Bounds(0, L.EMAIL.max)
_CODE = L.Bounds(L.SIGN_IN_CODE_DIGITS, L.SIGN_IN_CODE_DIGITS)
_ORDER_BY = {
    "updated_at": "updatedAt",
    "created_at": "createdAt",
    "importance": "importance",
    "last_recalled_at": "lastRecalledAt",
    "expires_at": "expiresAt",
}


class RequestOptions(TypedDict, total=False):
    """Per-call overrides accepted by every method as keyword arguments.

    ``timeout``: seconds per attempt. ``max_retries``: extra attempts after a transient failure.
    ``idempotency_key``: sent as ``Idempotency-Key`` (``add`` without ``key`` makes one up otherwise).
    """

    timeout: float
    max_retries: int
    idempotency_key: str


@dataclass(frozen=True)
class Call(Generic[T]):
    """One logical API call: what to send and which model the success body parses into."""

    method: str
    path: str
    model: type[T]
    body: dict[str, Any] | None = None
    #: ``True``: the client's API key; ``False``: no Authorization header (pre-auth routes).
    use_api_key: bool = True
    #: A cache token, sent instead of the API key.
    token: str | None = None
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _env(names: Sequence[str]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _segment(value: str) -> str:
    return quote(value, safe="")


USER_AGENT = f"memorylayer-python/{__version__}"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_from_response(response: HTTPResponse) -> MemoryLayerError:
    """The typed error for a non-2xx response (spec §1.3): the class is chosen by ``error.code``.

    Codes without a class of their own (``subscription_exists``, …) give the base
    ``MemoryLayerError`` with the wire ``code`` kept on the instance. A body that is not the JSON
    error envelope gives ``NetworkError`` with the HTTP status.
    """
    status = response.status_code
    header_id = response.headers.get("x-request-id")
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        snippet = response.text.strip()[:200] or response.reason_phrase
        return NetworkError(f"HTTP {status}: {snippet}", status=status, request_id=header_id)
    code = str(error.get("code") or "error")
    message = str(error.get("message") or f"HTTP {status}")
    request_id = error.get("request_id") or header_id
    cls = error_classes().get(code, MemoryLayerError)
    kwargs: dict[str, Any] = {"details": error.get("details"), "status": status, "request_id": request_id}
    exc: MemoryLayerError
    if issubclass(cls, RateLimited):
        wait = parse_retry_after(response.headers.get("retry-after"))
        exc = cls(message, retry_after=int(wait + 0.999) if wait is not None else 1, **kwargs)
    else:
        exc = cls(message, **kwargs)
    if exc.code != code:
        exc.code = code
    return exc


def transport_error(exc: Exception, timeout: float) -> NetworkError:
    """``Timeout`` for any httpx timeout, ``NetworkError`` for every other transport failure."""
    error: NetworkError
    if isinstance(exc, TIMEOUT_ERRORS):
        error = Timeout(f"Request timed out after {timeout:g}s ({type(exc).__name__})")
    else:
        error = NetworkError(f"Could not reach the server: {exc or type(exc).__name__}")
    error.__cause__ = exc
    return error


class _BaseClient:
    """Configuration plus everything that is neither sending nor sleeping."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self.client_id = client_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._defaults: dict[str, str] = {}

    # --- configuration ------------------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The key given to the constructor, else ``MEMORYLAYER_API_KEY``, else ``WITHMEMORY_API_KEY``."""
        return self._api_key if self._api_key is not None else _env(API_KEY_ENVS)

    @property
    def base_url(self) -> str:
        """The URL given, else ``MEMORYLAYER_BASE_URL`` / ``WITHMEMORY_BASE_URL``, else the local server."""
        url = self._base_url or _env(BASE_URL_ENVS) or DEFAULT_BASE_URL
        return url.removesuffix("/")

    def register(self, defaults: Mapping[str, str]) -> None:
        """Remember fallback facts that every ``recall`` sends as ``defaults`` (per-call ones win)."""
        self._defaults = {**self._defaults, **{str(k): str(v) for k, v in defaults.items()}}

    @property
    def registered_defaults(self) -> dict[str, str]:
        return dict(self._defaults)

    # --- building and parsing -----------------------------------------------------------------------

    def _build(self, call: Call[Any], options: RequestOptions) -> Prepared:
        """The HTTP request for ``call``, identical on every retry attempt.

        Raises:
            Unauthorized: the call needs an API key and none is configured (nothing is sent).
        """
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.client_id:
            headers[CLIENT_HEADER] = self.client_id
        if call.token is not None:
            headers["Authorization"] = f"Bearer {call.token}"
        elif call.use_api_key:
            key = self.api_key
            if not key:
                raise Unauthorized(
                    "No API key: pass api_key=... or set MEMORYLAYER_API_KEY (or WITHMEMORY_API_KEY)",
                    status=0,
                )
            headers["Authorization"] = f"Bearer {key}"
        idempotency_key = options.get("idempotency_key") or call.idempotency_key
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(call.headers)
        content = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(call.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Prepared(call.method, self.base_url + call.path, headers, content, self._timeout(options))

    def _timeout(self, options: RequestOptions) -> float:
        return float(options.get("timeout", self.timeout))

    def _parse(self, response: HTTPResponse, call: Call[T]) -> T:
        """The success model for a 2xx response.

        Raises:
            MemoryLayerError: a subclass chosen by the error code, for any non-2xx response.
            NetworkError: a 2xx body that is not the expected JSON.
        """
        if not response.is_success:
            raise error_from_response(response)
        request_id = response.headers.get("x-request-id")
        try:
            data = response.json()
            return call.model.model_validate(data)
        except (ValueError, UnicodeDecodeError, pydantic.ValidationError) as exc:
            raise NetworkError(
                f"Unexpected response to {call.method} {call.path} (HTTP {response.status_code}): {exc}",
                status=response.status_code,
                request_id=request_id,
            ) from exc

    # --- retry policy -------------------------------------------------------------------------------

    def _retry_delay(
        self, attempt: int, error: MemoryLayerError, response: HTTPResponse | None, options: RequestOptions
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to raise ``error`` now.

        Transient: transport failures and timeouts, 408, 429 and 5xx except 501 (not implemented
        stays not implemented). 409 conflicts and other 4xx are final. A ``Retry-After`` longer than
        ``MAX_RETRY_AFTER`` is not waited for.
        """
        if attempt >= options.get("max_retries", self.max_retries):
            return None
        if response is None:
            transient = isinstance(error, NetworkError)
        else:
            status = response.status_code
            transient = status in (408, 429) or (status >= 500 and status != 501)
        if not transient:
            return None
        base = self.retry_backoff
        delay = min(base * 2.0**attempt, base * 8) + random.uniform(0, base)
        if response is not None:
            asked = parse_retry_after(response.headers.get("retry-after"))
            if asked is not None:
                if asked > MAX_RETRY_AFTER:
                    return None
                delay = max(delay, asked)
        return delay

    # --- the calls ----------------------------------------------------------------------------------

    def _add(
        self,
        scope: str,
        value: str,
        key: str | None,
        importance: float | None,
        created_at: datetime | str | None = None,
        extract: bool | None = None,
        expires_at: datetime | str | None = None,
        ttl_seconds: int | None = None,
    ) -> Call[m.AddResponse]:
        check(
            text("scope", scope, L.SCOPE),
            text("key", key, L.KEY),
            text("value", value, L.VALUE),
            number("importance", importance, L.IMPORTANCE_MIN, L.IMPORTANCE_MAX),
            integer("ttlSeconds", ttl_seconds, L.TTL_SECONDS),
        )
        extracting = key is None and extract is not False
        if extracting:
            extraction_size(value)
        body = _compact(scope=scope, key=key, value=value, importance=importance, createdAt=_iso(created_at),
                        extract=extract, expiresAt=_iso(expires_at), ttlSeconds=ttl_seconds)  # fmt: skip
        # Extraction is the one non-idempotent call: one key per logical add, reused by every retry.
        idem = str(uuid.uuid4()) if extracting else None
        return Call("POST", "/v1/memories", m.AddResponse, body, idempotency_key=idem)

    def _add_batch(
        self, scope: str, items: Sequence[BatchItem | str], dedup: bool | None, partial: bool | None = None
    ) -> Call[m.BatchResponse]:
        wire = [batch_item(item) for item in items_list(items)]
        check(text("scope", scope, L.SCOPE), batch_issues(wire, each=not partial))
        body = _compact(scope=scope, items=wire, dedup=dedup, partial=partial)
        # Keyed items upsert and exact repeats are skipped, so a retried batch stores nothing twice.
        return Call("POST", "/v1/memories/batch", m.BatchResponse, body)

    def _recall(
        self,
        scope: str,
        query: str,
        threshold: str | None,
        max_items: int | None,
        max_tokens: int | None,
        defaults: Mapping[str, str] | None,
        as_of: datetime | str | None = None,
    ) -> Call[m.RecallResponse]:
        check(
            text("scope", scope, L.SCOPE),
            text("query", query, L.QUERY),
            integer("maxItems", max_items, L.MAX_ITEMS),
            integer("maxTokens", max_tokens, L.MAX_TOKENS),
        )
        merged = {**self._defaults, **(defaults or {})}
        body = _compact(
            scope=scope,
            query=query,
            maxItems=max_items,
            maxTokens=max_tokens,
            defaults=merged or None,
            threshold=threshold,
            asOf=_iso(as_of),
        )
        return Call("POST", "/v1/recall", m.RecallResponse, body)

    def _get(self, scope: str, key: str, as_of: datetime | str | None = None) -> Call[m.GetResponse]:
        check(text("scope", scope, L.SCOPE), text("key", key, L.KEY))
        return Call("POST", "/v1/memories/get", m.GetResponse, _compact(scope=scope, key=key, asOf=_iso(as_of)))

    def _remove(self, scope: str, key: str) -> Call[m.DeleteResponse]:
        check(text("scope", scope, L.SCOPE), text("key", key, L.KEY))
        return Call("POST", "/v1/memories/remove", m.DeleteResponse, {"scope": scope, "key": key})

    def _delete(self, memory_id: str) -> Call[m.DeleteResponse]:
        return Call("DELETE", f"/v1/memories/{_segment(memory_id)}", m.DeleteResponse)

    def _list(
        self,
        scope: str | None,
        source: str | None,
        search: str | None,
        created_after: datetime | str | None,
        created_before: datetime | str | None,
        order_by: str | None,
        order_dir: str | None,
        limit: int | None,
        cursor: str | None,
        include_total: bool | None,
        expiring: bool | None = None,
        as_of: datetime | str | None = None,
    ) -> Call[m.ListResponse]:
        check(
            text("scope", scope, L.SCOPE),
            text("search", search, L.LIST_SEARCH),
            integer("limit", limit, L.WIRE_LIST_LIMIT),
        )
        body = _compact(
            scope=scope,
            source=source,
            search=search,
            createdAfter=_iso(created_after),
            createdBefore=_iso(created_before),
            orderBy=_ORDER_BY.get(order_by, order_by) if order_by else None,
            orderDir=order_dir,
            limit=limit,
            cursor=cursor,
            includeTotal=include_total,
            expiring=expiring,
            asOf=_iso(as_of),
        )
        return Call("POST", "/v1/memories/list", m.ListResponse, body)

    def _health(self) -> Call[m.HealthResponse]:
        return Call("GET", "/v1/health", m.HealthResponse)

    def _whoami(self) -> Call[m.WhoamiResponse]:
        return Call("GET", "/v1/account", m.WhoamiResponse)

    def _usage(self) -> Call[m.UsageResponse]:
        return Call("GET", "/v1/account/usage", m.UsageResponse)

    def _billing(self) -> Call[m.BillingResponse]:
        return Call("GET", "/v1/account/billing", m.BillingResponse)

    def _checkout(self, tier: str) -> Call[m.CheckoutResponse]:
        return Call("POST", "/v1/account/checkout", m.CheckoutResponse, {"tier": tier})

    def _billing_portal(self) -> Call[m.PortalResponse]:
        return Call("POST", "/v1/account/billing-portal", m.PortalResponse)

    def _get_extraction_prompt(self) -> Call[m.ExtractionPromptResponse]:
        return Call("GET", "/v1/account/extraction-prompt", m.ExtractionPromptResponse)

    def _set_extraction_prompt(self, prompt: str) -> Call[m.ExtractionPromptResponse]:
        check(text("prompt", prompt, L.EXTRACTION_PROMPT, trim=True))
        path = "/v1/account/extraction-prompt"
        return Call("POST", path, m.ExtractionPromptResponse, {"prompt": prompt})

    def _reset_extraction_prompt(self) -> Call[m.ResetResponse]:
        return Call("DELETE", "/v1/account/extraction-prompt", m.ResetResponse)

    def _request_code(self, email: str) -> Call[m.RequestCodeResponse]:
        check(text("email", email, _EMAIL))
        body = {"email": email}
        return Call("POST", "/v1/auth/request-code", m.RequestCodeResponse, body, use_api_key=False)

    def _verify_code(self, email: str, code: str, issued_to: str | None) -> Call[m.VerifyCodeResponse]:
        check(text("email", email, _EMAIL), text("code", code, _CODE), text("issuedTo", issued_to, L.ISSUED_TO))
        body = _compact(email=email, code=code, issuedTo=issued_to)
        return Call("POST", "/v1/auth/verify-code", m.VerifyCodeResponse, body, use_api_key=False)

    # containers

    def _container_create(self, name: str, metadata: Mapping[str, Any] | None) -> Call[m.ContainerResponse]:
        check(text("name", name, L.CONTAINER_NAME))
        body = _compact(name=name, metadata=dict(metadata) if metadata is not None else None)
        return Call("POST", "/v1/containers", m.ContainerResponse, body)

    def _container_list(self) -> Call[m.ContainerListResponse]:
        return Call("GET", "/v1/containers", m.ContainerListResponse)

    def _container_get(self, container_id: str) -> Call[m.ContainerResponse]:
        return Call("GET", f"/v1/containers/{_segment(container_id)}", m.ContainerResponse)

    def _container_create_key(
        self, container_id: str, issued_to: str, scopes: str | Sequence[str] | None, expires_in: int | None
    ) -> Call[m.ContainerKeyResponse]:
        if scopes is not None and not isinstance(scopes, str):
            scopes = ",".join(scope.strip() for scope in scopes)
        check(text("issuedTo", issued_to, L.ISSUED_TO), integer("expiresIn", expires_in, L.KEY_EXPIRES_IN_S))
        body = _compact(issuedTo=issued_to, scopes=scopes, expiresIn=expires_in)
        path = f"/v1/containers/{_segment(container_id)}/keys"
        return Call("POST", path, m.ContainerKeyResponse, body)

    def _container_revoke_key(self, container_id: str, key_id: str) -> Call[m.RevokeKeyResponse]:
        path = f"/v1/containers/{_segment(container_id)}/keys/{_segment(key_id)}"
        return Call("DELETE", path, m.RevokeKeyResponse)

    def _container_delete(self, container_id: str) -> Call[m.DeleteResponse]:
        path = f"/v1/containers/{_segment(container_id)}"
        return Call("DELETE", path, m.DeleteResponse, {"confirm": True})

    # caches

    def _cache_create(self, ttl_seconds: int | None) -> Call[m.CacheCreateResponse]:
        check(integer("ttlSeconds", ttl_seconds, L.CACHE_TTL_S))
        body = _compact(ttlSeconds=ttl_seconds)
        return Call("POST", "/v1/cache", m.CacheCreateResponse, body, use_api_key=False)

    def _cache_claim(self, claim_token: str) -> Call[m.ClaimResponse]:
        return Call("POST", "/v1/cache/claim", m.ClaimResponse, {"claimToken": claim_token})

    def _cache_set(self, token: str, key: str, value: str) -> Call[m.CacheEntryResponse]:
        check(text("key", key, L.CACHE_KEY), text("value", value, L.CACHE_VALUE))
        body = {"key": key, "value": value}
        return Call("POST", "/v1/cache/set", m.CacheEntryResponse, body, use_api_key=False, token=token)

    def _cache_get(self, token: str, key: str) -> Call[m.CacheEntryResponse]:
        check(text("key", key, L.CACHE_KEY))
        body = {"key": key}
        return Call("POST", "/v1/cache/get", m.CacheEntryResponse, body, use_api_key=False, token=token)

    def _cache_delete(self, token: str, key: str) -> Call[m.DeleteResponse]:
        check(text("key", key, L.CACHE_KEY))
        body = {"key": key}
        return Call("POST", "/v1/cache/delete", m.DeleteResponse, body, use_api_key=False, token=token)

    def _cache_list(self, token: str) -> Call[m.CacheListResponse]:
        return Call("GET", "/v1/cache/list", m.CacheListResponse, use_api_key=False, token=token)


class _BaseCache:
    """A cache made by ``cache.create()``: its public identity; the raw token stays private."""

    def __init__(self, info: m.CacheInfo, request_id: str | None) -> None:
        self.id = info.id
        self.claim_token = info.claim_token
        self.claim_url = info.claim_url
        self.expires_at = info.expires_at
        self.request_id = request_id
        self._token = info.raw_token

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} expires_at={self.expires_at.isoformat()}>"
