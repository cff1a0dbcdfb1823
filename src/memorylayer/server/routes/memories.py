"""Memories and recall (spec §5, §6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...engine.answer import EVIDENCE as DEFAULT_ANSWER_ITEMS
from ...engine.answer import Answer
from ...engine.validation import expiry
from ...errors import InvalidRequest, NotFound
from ...limits import CHARS_PER_TOKEN, DEFAULT_MAX_ITEMS, DEFAULT_MAX_TOKENS, DEFAULT_THRESHOLD, EXTRACTION_MAX_BYTES
from ...types import ItemResult, NewMemory, Refused, now_ms
from .. import accounts, budgets, idempotency
from .. import operation_schemas as ops
from .. import validation as v
from ..auth import READ, WRITE, Caller, authenticate, require
from ..core import UUID_RE, body, memory_json, ok, parse_iso, parse_json, recall_json, route, state
from ..validation import Issue

router = APIRouter(tags=["memories"])
AUTH_ERRORS = (400, 401, 403, 429)
ORDER_BY = {
    "updatedAt": "updated_at",
    "createdAt": "created_at",
    "importance": "importance",
    "lastRecalledAt": "last_recalled_at",
    "expiresAt": "expires_at",
}


@route(
    router,
    "POST",
    "/v1/memories",
    summary="Add a keyed fact, or extract facts from text",
    schema=v.ADD,
    errors=(*AUTH_ERRORS, 500),
)
def add_memory(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.ADD)
) -> JSONResponse:
    require(caller, WRITE)
    srv = state(request)
    engine = srv.engine_for(caller.account.id)
    scope, value = data["scope"], data["value"]
    admit = accounts.quota_guard(srv, caller)
    created_at = _time(data, "createdAt")
    if "key" in data or data.get("extract") is False:
        # Updating an existing key never grows the count, so it is never quota-blocked (upstream blocks it).
        result = engine.add(
            scope,
            value,
            key=data.get("key"),
            importance=data.get("importance"),
            extract=False,
            created_at=created_at,
            expires_at=_time(data, "expiresAt"),
            ttl=data.get("ttlSeconds"),
            admit=admit,
        )
        return ok(request, {"memories": [memory_json(m) for m in result.memories]})
    size = len(value.encode("utf-8"))
    if size > EXTRACTION_MAX_BYTES:
        raise InvalidRequest(
            "Value exceeds maximum size for extraction",
            details={"maxBytes": EXTRACTION_MAX_BYTES, "actualBytes": size},
        )

    def extract() -> tuple[int, dict[str, Any]]:
        accounts.check_room(srv, caller)
        prompt = caller.account.extraction_prompt or caller.root.extraction_prompt
        result = engine.add(
            scope,
            value,
            prompt=prompt,
            created_at=created_at,
            expires_at=_time(data, "expiresAt"),
            ttl=data.get("ttlSeconds"),
            admit=admit,
        )
        return 200, {"memories": [memory_json(m) for m in result.memories]}

    key = request.headers.get("idempotency-key")
    if not key:
        return ok(request, extract()[1])
    # A failed extraction releases the key, so a retry runs again (upstream replays `[]`).
    print_ = idempotency.fingerprint("POST", "/v1/memories", data)
    status, payload = idempotency.run_once(srv, caller.account.id, idempotency.checked_key(key), print_, extract)
    return ok(request, payload, status)


def _time(data: dict[str, Any], name: str) -> int | None:
    return parse_iso(data[name]) if name in data else None


#: A batch body and, under ``partial``, the issues of each bad item by its index.
Batch = tuple[dict[str, Any], dict[int, list[Issue]]]


async def _batch_body(request: Request) -> Batch:
    return _validate_batch(parse_json(await request.body(), request.headers.get("content-type", "")))


def _validate_batch(body: Any) -> Batch:
    """A batch body, and (with ``"partial": true``) the issues of each bad item by its index.

    Without ``partial`` any issue refuses the body, as :meth:`Schema.validate` does; with it only
    the envelope's do (scope, the list's size, an unknown top-level key); ``items`` still holds
    every item, and the map says which are bad.

    Raises:
        InvalidRequest: with ``details`` = the issue list.
    """
    if not isinstance(body, dict):
        return v.BATCH.validate(body), {}  # raises: the body is not an object
    issues: list[Issue] = []
    out = v.BATCH.check_object(body, [], issues)
    by_item: dict[int, list[Issue]] = {}
    if out.get("partial") is True:
        envelope = []
        for issue in issues:
            path = issue["path"]
            if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
                by_item.setdefault(path[1], []).append(issue)
            else:
                envelope.append(issue)
        issues = envelope
    if issues:
        raise InvalidRequest("Invalid request body", details=issues)
    return out, by_item


@route(
    router,
    "POST",
    "/v1/memories/batch",
    summary="Extension: store 1-1,000 memories verbatim in one transaction",
    schema=v.BATCH,
    errors=(*AUTH_ERRORS, 413, 500),
)
def add_batch(
    request: Request, caller: Caller = Depends(authenticate), batch: Batch = Depends(_batch_body)
) -> JSONResponse:
    require(caller, WRITE)
    srv = state(request)
    data, bad = batch
    partial = data.get("partial", False)
    now = now_ms()
    items: list[NewMemory | Refused] = []
    for i, item in enumerate(data["items"]):
        try:
            items.append(_refused(bad[i]) if i in bad else _batch_item(item, i, now))
        except InvalidRequest as exc:
            if not partial:
                raise
            items.append(Refused(exc.code, exc.message, exc.details))
    result = (
        state(request)
        .engine_for(caller.account.id)
        .add_batch(
            data["scope"],
            items,
            dedup=data.get("dedup", True),
            admit=accounts.quota_guard(srv, caller),
            partial=partial,
            room=accounts.quota_room(srv, caller) if partial else None,
        )
    )
    results = [batch_item_json(r) for r in result.items]
    payload = {"memories": [memory_json(m) for m in result.memories], "skipped": len(result.skipped)}
    return ok(request, {**payload, "results": results})


def _batch_item(item: dict[str, Any], i: int, now: int) -> NewMemory:
    return NewMemory(
        item["value"],
        key=item.get("key"),
        importance=item.get("importance"),
        created_at=_time(item, "createdAt"),
        expires_at=expiry(_time(item, "expiresAt"), item.get("ttlSeconds"), now, f"items[{i}].expiresAt"),
    )


def _refused(issues: list[dict[str, Any]]) -> Refused:
    """A bad item of a partial batch: each issue as the whole-batch refusal words it, with its path."""
    message = "; ".join(f"{_dotted(issue['path'])}: {issue['message']}" for issue in issues)
    return Refused(InvalidRequest.code, message, issues)


def _dotted(path: list[str | int]) -> str:
    """``["items", 2, "importance"]`` as ``items[2].importance``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def batch_item_json(item: ItemResult) -> dict[str, Any]:
    """One item's outcome on the wire: ``{"index", "status", "id", "supersedes"}``.

    A refused item (a partial batch) has ``id`` null, and its ``code``, ``message`` and ``details``.
    """
    out: dict[str, Any] = {"index": item.index, "status": item.status, "id": item.id, "supersedes": item.supersedes}
    if item.status == "refused":
        out.update(id=None, code=item.code, message=item.message, details=item.details)
    return out


@route(
    router,
    "POST",
    "/v1/memories/get",
    summary="Get the live memory under (scope, key)",
    schema=v.GET,
    errors=AUTH_ERRORS,
)
def get_memory(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.GET)
) -> JSONResponse:
    require(caller, READ)
    as_of = _time(data, "asOf")
    record = state(request).engine_for(caller.account.id).get_key(data["scope"], data["key"], as_of=as_of)
    return ok(request, {"memory": memory_json(record, validity=as_of is not None) if record else None})


@route(
    router,
    "POST",
    "/v1/memories/remove",
    summary="Delete the memory under (scope, key)",
    schema=v.REMOVE,
    errors=AUTH_ERRORS,
)
def remove_memory(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.REMOVE)
) -> JSONResponse:
    require(caller, WRITE)
    deleted = state(request).engine_for(caller.account.id).remove(data["scope"], data["key"])
    return ok(request, {"result": {"deleted": bool(deleted)}})


@route(
    router,
    "POST",
    "/v1/memories/list",
    summary="List memories with filters and exact cursors",
    schema=v.LIST,
    errors=AUTH_ERRORS,
)
def list_memories(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.LIST)
) -> JSONResponse:
    require(caller, READ)
    engine = state(request).engine_for(caller.account.id)
    source = data.get("source", "all")
    include_total = bool(data.get("includeTotal", False))
    # Every memory is from 1970 or later: an earlier bound keeps everything, or nothing.
    after, before = _time(data, "createdAfter"), _time(data, "createdBefore")
    page = engine.list(
        scope=data.get("scope"),
        source=None if source == "all" else source,
        search=data.get("search"),
        created_after=after if after is not None and after >= 0 else None,
        created_before=None if before is None else max(before, 0),
        order_by=ORDER_BY[data.get("orderBy", "updatedAt")],
        order_dir=data.get("orderDir", "desc"),
        limit=data.get("limit", 50),
        cursor=data.get("cursor") or None,
        include_total=include_total,
        expiring=bool(data.get("expiring", False)),
        as_of=_time(data, "asOf"),
    )
    validity = "asOf" in data
    memories = [memory_json(m, validity=validity) for m in page.memories]
    payload: dict[str, Any] = {"memories": memories, "nextCursor": page.next_cursor}
    if include_total:
        payload["total"] = page.total if page.total is not None else 0
    return ok(request, payload)


@route(router, "DELETE", "/v1/memories/{memory_id}", summary="Delete a memory by id", errors=AUTH_ERRORS)
def delete_memory(request: Request, memory_id: str, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, WRITE)
    if not UUID_RE.fullmatch(memory_id):
        raise InvalidRequest("Invalid memory ID format")
    deleted = state(request).engine_for(caller.account.id).delete(memory_id.lower())
    return ok(request, {"result": {"deleted": bool(deleted)}})


@route(router, "POST", "/v1/recall", summary="Prompt-ready context for a query", schema=v.RECALL, errors=AUTH_ERRORS)
def recall(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(v.RECALL)
) -> JSONResponse:
    require(caller, READ)
    result = (
        state(request)
        .engine_for(caller.account.id)
        .recall(
            data["scope"],
            data["query"],
            max_items=data.get("maxItems", DEFAULT_MAX_ITEMS),
            max_tokens=data.get("maxTokens", DEFAULT_MAX_TOKENS),
            threshold=data.get("threshold", DEFAULT_THRESHOLD),
            defaults=data.get("defaults") or None,
            chars_per_token=CHARS_PER_TOKEN,  # the wire's budget: maxTokens × 4 JavaScript characters
            as_of=_time(data, "asOf"),
        )
    )
    return ok(request, recall_json(result, validity="asOf" in data))


@route(
    router,
    "POST",
    "/v1/documents",
    summary="Extension: remember(chunk), a long document stored as linked chunks (Pro+ and up)",
    schema=ops.DOCUMENT,
    errors=(*AUTH_ERRORS, 413, 500),
)
def remember_document(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.DOCUMENT)
) -> JSONResponse:
    require(caller, WRITE)
    srv = state(request)
    budgets.charge(srv, caller, "chunk")
    result = srv.engine_for(caller.account.id).remember_document(
        data["scope"],
        data["document"],
        data["text"],
        importance=data.get("importance"),
        admit=accounts.quota_guard(srv, caller),
    )
    return ok(
        request,
        {"document": result.document, "chunks": [memory_json(m) for m in result.chunks], "removed": result.removed},
    )


@route(
    router,
    "POST",
    "/v1/documents/neighbours",
    summary="Extension: a document chunk with the chunks around it, in reading order",
    schema=ops.NEIGHBOURS,
    errors=(*AUTH_ERRORS, 404),
)
def chunk_neighbours(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.NEIGHBOURS)
) -> JSONResponse:
    require(caller, READ)
    if not UUID_RE.fullmatch(data["memoryId"]):
        raise NotFound(f"memory {data['memoryId']} does not exist")  # malformed ids are 404 (DESIGN.md)
    engine = state(request).engine_for(caller.account.id)
    around = engine.neighbours(data["memoryId"].lower(), radius=data.get("radius", 1))
    return ok(request, {"memories": [memory_json(m) for m in around]})


def answer_json(answer: Answer) -> dict[str, Any]:
    evidence = [{"memory": memory_json(h.memory), "score": round(h.score, 4)} for h in answer.evidence]
    return {
        "answer": answer.answer,
        "found": answer.found,
        "citations": answer.citations,
        "method": answer.method,
        "context": answer.context,
        "evidence": evidence,
    }


@route(
    router,
    "POST",
    "/v1/recall/answer",
    summary="Extension: recall(answer), an answer with the memories it rests on (metered per key and month)",
    schema=ops.ANSWER,
    errors=(*AUTH_ERRORS, 500),
)
def recall_answer(
    request: Request, caller: Caller = Depends(authenticate), data: dict[str, Any] = body(ops.ANSWER)
) -> JSONResponse:
    require(caller, READ)
    srv = state(request)
    budgets.charge(srv, caller, "answer")
    result = srv.engine_for(caller.account.id).answer(
        data["scope"],
        data["question"],
        max_items=data.get("maxItems", DEFAULT_ANSWER_ITEMS),
        threshold=data.get("threshold", DEFAULT_THRESHOLD),
    )
    return ok(request, answer_json(result))


@route(router, "GET", "/v1/budgets", summary="Extension: this month's operation budgets of the key", errors=AUTH_ERRORS)
def operation_budgets(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    require(caller, READ)
    return ok(request, {"budgets": budgets.budgets(state(request), caller)})
