"""The blocking client: sends what ``_BaseClient`` builds, sleeps between retries, nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, Unpack

import httpx

from ..errors import InvalidRequest, MemoryLayerError
from . import _operations as ops
from . import models as m
from ._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_TIMEOUT,
    TRANSPORT_ERRORS,
    Call,
    HTTPResponse,
    OrderDir,
    RequestOptions,
    Source,
    SyncHTTPClient,
    T,
    Threshold,
    _BaseCache,
    _BaseClient,
    error_from_response,
    transport_error,
)
from ._checks import BatchItem
from ._code import CodeCalls, ingest_parts, merge_summaries


class Client(_BaseClient, CodeCalls):
    """A blocking client for a MemoryLayer (or WithMemory-compatible) server.

    ``api_key`` and ``base_url`` default to ``MEMORYLAYER_API_KEY`` / ``MEMORYLAYER_BASE_URL`` (then
    ``WITHMEMORY_API_KEY`` / ``WITHMEMORY_BASE_URL``), read when a request is made. ``client_id`` is
    sent as ``X-WithMemory-Client``. ``http_client`` lets you supply your own ``httpx.Client`` (a
    proxy, custom TLS, or a test transport such as Starlette's ``TestClient``); it is not closed by
    ``close()``. Every method accepts ``timeout=``, ``max_retries=`` and ``idempotency_key=``.

    Raises (every method): a ``memorylayer.errors.MemoryLayerError`` subclass chosen by the server's
    error code; ``NetworkError`` / ``Timeout`` when the server cannot be reached in time after retries;
    ``InvalidRequest`` with ``status`` 0, before anything is sent, for a value outside the wire's limits.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        http_client: SyncHTTPClient | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            client_id=client_id,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
        )
        self._http = http_client
        self._owns_http = http_client is None
        self._http_lock = threading.Lock()
        self.containers = Containers(self)
        self.cache = Caches(self)

    # --- I/O ----------------------------------------------------------------------------------------

    def _http_client(self) -> SyncHTTPClient:
        # One client shared by every thread: threads making their first call together must not each
        # build (and leak) a connection pool.
        if self._http is None:
            with self._http_lock:
                if self._http is None:
                    self._http = httpx.Client()
        return self._http

    def _send(self, call: Call[T], options: RequestOptions) -> T:
        http = self._http_client()
        request = http.build_request(**self._build(call, options).as_kwargs())
        attempt = 0
        while True:
            response: HTTPResponse | None = None
            error: MemoryLayerError
            try:
                response = http.send(request)
            except TRANSPORT_ERRORS as exc:
                error = transport_error(exc, self._timeout(options))
            else:
                if response.is_success:
                    return self._parse(response, call)
                error = error_from_response(response)
            delay = self._retry_delay(attempt, error, response, options)
            if delay is None:
                raise error
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- memories -----------------------------------------------------------------------------------

    def add(
        self,
        scope: str,
        value: str,
        *,
        key: str | None = None,
        importance: float | None = None,
        created_at: datetime | str | None = None,
        extract: bool | None = None,
        expires_at: datetime | str | None = None,
        ttl_seconds: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.AddResponse:
        """Store ``value`` under ``key`` (upsert), or, without ``key``, extract durable facts from it.

        ``importance`` (0–1) needs ``key`` or ``extract=False`` (which stores the text verbatim).
        ``created_at`` (a timezone-aware datetime or an ISO ``…Z`` string) says when it happened.
        ``expires_at`` (the same forms) or ``ttl_seconds`` make the memory disappear on its own.
        Both are this server's extensions of the wire. An extraction add carries a fresh
        ``Idempotency-Key`` that every retry reuses, so a retried add never extracts twice.
        """
        call = self._add(scope, value, key, importance, created_at, extract, expires_at, ttl_seconds)
        return self._send(call, options)

    def add_batch(
        self,
        scope: str,
        items: Sequence[BatchItem | str],
        *,
        dedup: bool | None = None,
        partial: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.BatchResponse:
        """Store 1–1,000 memories verbatim in one request and one transaction (an extension).

        Each item is a string or a dict with ``value`` and optional ``key``, ``importance`` and
        ``created_at``; keyed items upsert. ``dedup=False`` keeps repeated values (chat turns).
        A bad item refuses the whole batch; ``partial=True`` writes the others and reports it
        ``refused`` in ``results`` (as a new memory past the memory limit: ``quota_exceeded``).
        """
        return self._send(self._add_batch(scope, items, dedup, partial), options)

    def recall(
        self,
        scope: str,
        query: str,
        *,
        threshold: Threshold | None = None,
        max_items: int | None = None,
        max_tokens: int | None = None,
        defaults: Mapping[str, str] | None = None,
        as_of: datetime | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.RecallResponse:
        """A prompt-ready ``context`` for ``query``; registered defaults merge under ``defaults``.

        ``as_of`` (an extension) recalls what was valid at that instant instead of now.
        """
        call = self._recall(scope, query, threshold, max_items, max_tokens, defaults, as_of)
        return self._send(call, options)

    def answer(
        self,
        scope: str,
        question: str,
        *,
        threshold: Threshold | None = None,
        max_items: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.AnswerResponse:
        """recall(answer), an extension: an answer to ``question`` citing the memories it rests on.

        Counted against the key's monthly answer budget (``BudgetExceeded`` when it is spent).
        """
        return self._send(ops.answer(scope, question, threshold, max_items), options)

    def verify(
        self, scope: str, statement: str, *, max_items: int | None = None, **options: Unpack[RequestOptions]
    ) -> m.VerifyResponse:
        """verify, an extension: ``statement`` checked against memory (supported, contradicted or
        not_enough_information) with the evidence. Needs a plan with the advanced operations."""
        return self._send(ops.verify(scope, statement, max_items), options)

    def remember_document(
        self,
        scope: str,
        document: str,
        text: str,
        *,
        importance: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.DocumentResponse:
        """remember(chunk), an extension: store a long document as chunks keyed ``<document>#<i>``;
        remembering it again replaces its chunks. Needs a plan with the advanced operations."""
        return self._send(ops.remember_document(scope, document, text, importance), options)

    def neighbours(
        self, memory_id: str, *, radius: int | None = None, **options: Unpack[RequestOptions]
    ) -> m.NeighboursResponse:
        """A document chunk with ``radius`` (default 1) chunks each side, in reading order."""
        return self._send(ops.neighbours(memory_id, radius), options)

    def consolidate(
        self,
        scope: str,
        *,
        mode: Literal["merge", "compose"] | None = None,
        dry_run: bool | None = None,
        offline: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.ConsolidateResponse:
        """consolidate, an extension: merge near duplicates and decay stale low-importance memories
        (``mode="merge"``, every plan), or compile co-recalled memories into composites (``"compose"``,
        plans with the advanced operations). ``dry_run`` returns the plan and writes nothing."""
        return self._send(ops.consolidate(scope, mode, dry_run, offline), options)

    def weave(self, scope: str, **options: Unpack[RequestOptions]) -> m.WeaveResponse:
        """weave, an extension (plans with the advanced operations): rebuild the links between the
        memories of ``scope`` (shared names, conversations, documents, supersession, co-recall)."""
        return self._send(ops.weave(scope), options)

    def explore(
        self,
        scope: str,
        query: str,
        *,
        max_items: int | None = None,
        seeds: int | None = None,
        max_hops: int | None = None,
        max_nodes: int | None = None,
        decay: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.ExploreResponse:
        """recall(explore), an extension: recall's hits, then memories linked to them (spreading
        activation within ``max_hops`` / ``max_nodes``, ``decay`` per link), each with its path.

        Counted against the key's monthly explore budget (``BudgetExceeded`` when it is spent).
        """
        return self._send(ops.explore(scope, query, max_items, seeds, max_hops, max_nodes, decay), options)

    def ripple(
        self, memory_id: str, *, apply: bool | None = None, **options: Unpack[RequestOptions]
    ) -> m.RippleResponse:
        """ripple, an extension (plans with the advanced operations): the memories derived from
        ``memory_id``; ``apply`` flags them with metadata ``needs_review``."""
        return self._send(ops.ripple(memory_id, apply), options)

    def budgets(self, **options: Unpack[RequestOptions]) -> m.BudgetsResponse:
        """This month's operation budgets of the key (an extension): used and limit per operation."""
        return self._send(ops.budgets(), options)

    def get(
        self, scope: str, key: str, *, as_of: datetime | str | None = None, **options: Unpack[RequestOptions]
    ) -> m.GetResponse:
        """The live memory under ``(scope, key)`` (or, ``as_of``, the value it had then); ``memory`` may be ``None``."""
        return self._send(self._get(scope, key, as_of), options)

    def remove(self, scope: str, key: str, **options: Unpack[RequestOptions]) -> m.DeleteResponse:
        """Delete the memory under ``(scope, key)``; ``result.deleted`` says whether one existed."""
        return self._send(self._remove(scope, key), options)

    # -- code memory and formal reasoning (extensions, docs/reasoning.md) --
    def code_ingest(
        self, scope: str, root: str | Path, *, prune: bool = True, **options: Unpack[RequestOptions]
    ) -> m.CodeIngestResponse:
        """Index the folder ``root`` (read here, .gitignore respected) into ``scope`` on the server.

        Sent in request-sized parts; only changed files are re-indexed there, and with ``prune`` files
        no longer in the folder are forgotten. ``summary`` adds up the parts.
        """
        parts, paths, too_large = ingest_parts(root)
        if not parts:
            raise InvalidRequest(f"{root}: no files to index")
        summaries = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            call = self._code_ingest(scope, part, prune and last, paths if prune and last and len(parts) > 1 else None)
            summaries.append((self._send(call, options)).summary)
        return m.CodeIngestResponse(summary=merge_summaries(summaries, too_large))

    def code_locate(
        self, scope: str, query: str, *, top_k: int | None = None, **options: Unpack[RequestOptions]
    ) -> m.CodeLocateResponse:
        """Where ``query`` is answered in ``scope``'s code: ``path:start-end``, symbol and snippet, best first."""
        return self._send(self._code_locate(scope, query, top_k), options)

    def set_domain(self, scope: str, domain: dict[str, Any], **options: Unpack[RequestOptions]) -> m.DomainResponse:
        """Declare (or replace) ``scope``'s typed vocabulary and rules; ``unsatisfiable`` if none can hold."""
        return self._send(self._set_domain(scope, domain), options)

    def get_domain(self, scope: str, **options: Unpack[RequestOptions]) -> m.DomainResponse:
        """``scope``'s domain (``not_found`` if it has none)."""
        return self._send(self._get_domain(scope), options)

    def prove(
        self,
        scope: str,
        statement: dict[str, Any],
        *,
        timeout_ms: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.ProveResponse:
        """Prove or refute ``statement`` (``{"entity", "instance"?, "assert"}``) against ``scope``'s rules and facts."""
        return self._send(self._prove(scope, statement, timeout_ms), options)

    def audit(self, scope: str, *, timeout_ms: int | None = None, **options: Unpack[RequestOptions]) -> m.AuditResponse:
        """The facts and rules of ``scope`` that cannot all hold, each conflict an unsat core."""
        return self._send(self._audit(scope, timeout_ms), options)

    def delete(self, memory_id: str, **options: Unpack[RequestOptions]) -> m.DeleteResponse:
        """Delete a memory by id; ``result.deleted`` is ``False`` if it was not this account's."""
        return self._send(self._delete(memory_id), options)

    def list(
        self,
        *,
        scope: str | None = None,
        source: Source | None = None,
        search: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        order_by: str | None = None,
        order_dir: OrderDir | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        include_total: bool | None = None,
        expiring: bool | None = None,
        as_of: datetime | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.ListResponse:
        """One page of memories; pass ``response.next_cursor`` as ``cursor`` for the next one.

        ``order_by`` is ``updated_at`` (default), ``created_at``, ``importance`` or
        ``last_recalled_at`` or ``expires_at`` (the wire's camelCase names work too). Extensions:
        ``expiring`` lists only memories with an expiry; ``as_of`` what was valid at that instant.
        """
        call = self._list(
            scope, source, search, created_after, created_before, order_by, order_dir, limit, cursor,
            include_total, expiring, as_of,
        )  # fmt: skip
        return self._send(call, options)

    def iter_memories(
        self,
        *,
        scope: str | None = None,
        source: Source | None = None,
        search: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        order_by: str | None = None,
        order_dir: OrderDir | None = None,
        page_size: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Iterator[m.Memory]:
        """Every memory matching the filters, fetching page after page as the iteration proceeds."""
        cursor: str | None = None
        while True:
            call = self._list(
                scope, source, search, created_after, created_before, order_by, order_dir, page_size,
                cursor, None,
            )  # fmt: skip
            page = self._send(call, options)
            yield from page.memories
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # --- account ------------------------------------------------------------------------------------

    def health(self, **options: Unpack[RequestOptions]) -> m.HealthResponse:
        """Authenticated liveness check."""
        return self._send(self._health(), options)

    def whoami(self, **options: Unpack[RequestOptions]) -> m.WhoamiResponse:
        """The calling key's account and the key itself (scopes, name, expiry)."""
        return self._send(self._whoami(), options)

    def usage(self, **options: Unpack[RequestOptions]) -> m.UsageResponse:
        """Memory and container counts against the plan's limits, and API-call metering."""
        return self._send(self._usage(), options)

    def billing(self, **options: Unpack[RequestOptions]) -> m.BillingResponse:
        """Plan, billing period and usage of the calling account."""
        return self._send(self._billing(), options)

    def checkout(self, tier: str, **options: Unpack[RequestOptions]) -> m.CheckoutResponse:
        """A payment page for ``tier`` (``NotConfigured`` on a self-hosted server without payments)."""
        return self._send(self._checkout(tier), options)

    def billing_portal(self, **options: Unpack[RequestOptions]) -> m.PortalResponse:
        """A billing-portal link (``NotConfigured`` on a self-hosted server without payments)."""
        return self._send(self._billing_portal(), options)

    def get_extraction_prompt(self, **options: Unpack[RequestOptions]) -> m.ExtractionPromptResponse:
        """The account's custom extraction prompt, or ``prompt=None, source="default"``."""
        return self._send(self._get_extraction_prompt(), options)

    def set_extraction_prompt(self, prompt: str, **options: Unpack[RequestOptions]) -> m.ExtractionPromptResponse:
        """Use ``prompt`` (trimmed by the server) for this account's extraction adds."""
        return self._send(self._set_extraction_prompt(prompt), options)

    def reset_extraction_prompt(self, **options: Unpack[RequestOptions]) -> m.ResetResponse:
        """Go back to the server's default extraction prompt."""
        return self._send(self._reset_extraction_prompt(), options)

    # --- signup (no API key needed) -----------------------------------------------------------------

    def request_code(self, email: str, **options: Unpack[RequestOptions]) -> m.RequestCodeResponse:
        """Email a 6-digit sign-in code to ``email``."""
        return self._send(self._request_code(email), options)

    def verify_code(
        self, email: str, code: str, *, issued_to: str | None = None, **options: Unpack[RequestOptions]
    ) -> m.VerifyCodeResponse:
        """Exchange the emailed code for a new API key (``result.api_key``), labelled ``issued_to``."""
        return self._send(self._verify_code(email, code, issued_to), options)


class Containers:
    """``client.containers``: isolated sub-accounts with their own keys (account:admin)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, name: str, *, metadata: Mapping[str, Any] | None = None, **options: Unpack[RequestOptions]
    ) -> m.ContainerResponse:
        """Create a container; a duplicate name raises ``ContainerNameExists`` (not retried)."""
        return self._client._send(self._client._container_create(name, metadata), options)

    def list(self, **options: Unpack[RequestOptions]) -> m.ContainerListResponse:
        """Every container of the calling account."""
        return self._client._send(self._client._container_list(), options)

    def get(self, container_id: str, **options: Unpack[RequestOptions]) -> m.ContainerResponse:
        """One container with its memory and active-key counts."""
        return self._client._send(self._client._container_get(container_id), options)

    def create_key(
        self,
        container_id: str,
        issued_to: str,
        *,
        scopes: str | Sequence[str] | None = None,
        expires_in: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> m.ContainerKeyResponse:
        """Mint a key for the container; ``raw_key`` is returned this once only."""
        call = self._client._container_create_key(container_id, issued_to, scopes, expires_in)
        return self._client._send(call, options)

    def revoke_key(self, container_id: str, key_id: str, **options: Unpack[RequestOptions]) -> m.RevokeKeyResponse:
        """Revoke one of the container's keys."""
        return self._client._send(self._client._container_revoke_key(container_id, key_id), options)

    def delete(self, container_id: str, **options: Unpack[RequestOptions]) -> m.DeleteResponse:
        """Delete the container with all its memories and keys."""
        return self._client._send(self._client._container_delete(container_id), options)


class Caches:
    """``client.cache``: temporary key/value caches that need no account, and claiming them."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, *, ttl_seconds: int | None = None, **options: Unpack[RequestOptions]) -> Cache:
        """A new cache (no API key needed) living ``ttl_seconds`` (default 24 h)."""
        response = self._client._send(self._client._cache_create(ttl_seconds), options)
        return Cache(self._client, response.cache, response.request_id)

    def claim(self, claim_token: str, **options: Unpack[RequestOptions]) -> m.ClaimResponse:
        """Turn a cache into a container of this account; returns its scope and a read-only key."""
        return self._client._send(self._client._cache_claim(claim_token), options)


class Cache(_BaseCache):
    """One cache; share ``claim_url`` with a person or ``client.cache.claim(cache.claim_token)``."""

    def __init__(self, client: Client, info: m.CacheInfo, request_id: str | None) -> None:
        super().__init__(info, request_id)
        self._client = client

    def set(self, key: str, value: str, **options: Unpack[RequestOptions]) -> m.CacheEntryResponse:
        """Store ``value`` under ``key`` (upsert); at most 50 keys (``CacheEntryLimit``)."""
        return self._client._send(self._client._cache_set(self._token, key, value), options)

    def get(self, key: str, **options: Unpack[RequestOptions]) -> m.CacheEntryResponse:
        """The entry under ``key``; ``response.entry`` is ``None`` if there is none."""
        return self._client._send(self._client._cache_get(self._token, key), options)

    def delete(self, key: str, **options: Unpack[RequestOptions]) -> m.DeleteResponse:
        """Delete the entry under ``key``."""
        return self._client._send(self._client._cache_delete(self._token, key), options)

    def list(self, **options: Unpack[RequestOptions]) -> m.CacheListResponse:
        """The cache's keys, sorted, without values."""
        return self._client._send(self._client._cache_list(self._token), options)
