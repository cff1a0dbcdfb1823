"""Memories: scopes with counts, a scope's memories (the engine's search, filters, pages), one memory's
history, edits and deletion, and deleting a whole scope. All of them work in the signed-in account or
in one of its containers (``?container=<id>``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from ... import limits
from ...errors import InvalidRequest, MemoryLayerError, NotFound
from ...store.accounts import Account
from ...types import HistoryEntry, MemoryRecord
from ..core import UUID_RE, ServerState, state
from . import sessions
from .sessions import Viewer
from .web import PageRoute, form_data, page, problem, redirect, text_param

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SOURCES = ("explicit", "extracted", "imported")
NOTICES = {
    "saved": "Saved.",
    "unchanged": "Nothing changed.",
    "deleted": "The memory was deleted.",
    "scope-deleted": "The scope and all its memories were deleted.",
}


def tenant(srv: ServerState, viewer: Viewer, container_id: str | None) -> Account:
    """The signed-in account, or the container of it named by ``container_id``.

    Raises:
        NotFound: not one of this account's containers.
    """
    if not container_id:
        return viewer.account
    if UUID_RE.match(container_id):
        container = srv.store.get_account(container_id.lower())
        if container is not None and container.parent_account_id == viewer.account.id:
            return container
    raise NotFound("Container not found")


def where(request: Request) -> tuple[Viewer, ServerState, Account]:
    """The viewer, the server and the account the page works in (from ``?container=``)."""
    viewer = sessions.required(request)
    srv = state(request)
    return viewer, srv, tenant(srv, viewer, text_param(request, "container"))


def base_context(viewer: Viewer, srv: ServerState, account: Account, title: str) -> dict[str, Any]:
    return {
        "viewer": viewer,
        "title": title,
        "account": account,
        "container": account.id if account.is_container else "",
        "containers": srv.store.containers(viewer.account.id),
    }


@router.get("/memories")
def scopes(request: Request) -> Response:
    viewer, srv, account = where(request)
    namespaces = srv.engine_for(account.id).namespaces()
    context = base_context(viewer, srv, account, "Memories")
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return page(request, "scopes.html", csrf=viewer.csrf, namespaces=namespaces, notice=notice, **context)


@dataclass(frozen=True)
class Filters:
    scope: str
    query: str | None
    source: str | None
    key: str | None
    after: str | None
    before: str | None

    def created_range(self) -> tuple[int | None, int | None]:
        """The engine's exclusive bounds for the inclusive ``after``..``before`` days (UTC)."""
        start = _day_ms(self.after, "from") - 1 if self.after else None
        end = _day_ms(self.before, "to") + 86_400_000 if self.before else None
        return start, end

    def params(self) -> dict[str, str]:
        found = {"q": self.query, "source": self.source, "key": self.key, "after": self.after, "before": self.before}
        return {name: value for name, value in found.items() if value}


def _day_ms(text: str, name: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name}: expected a date (YYYY-MM-DD)") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _filters(request: Request) -> Filters:
    scope = text_param(request, "scope")
    if scope is None:
        raise InvalidRequest("scope: choose a scope")
    source = text_param(request, "source")
    if source is not None and source not in SOURCES:
        raise InvalidRequest(f"source: expected one of {', '.join(SOURCES)}")
    return Filters(
        scope=scope,
        query=text_param(request, "q"),
        source=source,
        key=text_param(request, "key"),
        after=text_param(request, "after"),
        before=text_param(request, "before"),
    )


def _matches(memory: MemoryRecord, filters: Filters, start: int | None, end: int | None) -> bool:
    return (
        (filters.source is None or memory.source == filters.source)
        and (filters.key is None or (memory.key is not None and filters.key.lower() in memory.key.lower()))
        and (start is None or memory.created_at > start)
        and (end is None or memory.created_at < end)
    )


@router.get("/memories/list")
def scope_memories(request: Request) -> Response:
    viewer, srv, account = where(request)
    filters = _filters(request)
    engine = srv.engine_for(account.id)
    start, end = filters.created_range()
    context = base_context(viewer, srv, account, f"Scope {filters.scope}")
    context.update(filters=filters, hits=None, memories=[], next_cursor=None, total=None, error=None)
    context["notice"] = NOTICES.get(request.query_params.get("notice", ""))
    try:
        if filters.query:
            found = engine.search(filters.query, scope=filters.scope, top_k=limits.DASHBOARD_SEARCH_RESULTS)
            context["hits"] = [h for h in found if _matches(h.memory, filters, start, end)]
        else:
            listed = engine.list(
                scope=filters.scope,
                source=filters.source,
                key_search=filters.key,
                created_after=start,
                created_before=end,
                limit=limits.DASHBOARD_PAGE_SIZE,
                cursor=text_param(request, "cursor"),
                include_total=True,
            )
            context.update(memories=listed.memories, next_cursor=listed.next_cursor, total=listed.total)
    except InvalidRequest as error:
        context["error"] = problem(error)
    return page(request, "scope.html", csrf=viewer.csrf, **context)


@router.get("/memories/delete-scope")
def confirm_scope_delete(request: Request) -> Response:
    viewer, srv, account = where(request)
    scope = _filters(request).scope
    count = srv.engine_for(account.id).count(scope)
    context = base_context(viewer, srv, account, f"Delete scope {scope}")
    return page(request, "delete_scope.html", csrf=viewer.csrf, scope=scope, count=count, error=None, **context)


@router.post("/memories/delete-scope")
def delete_scope(request: Request, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    account = tenant(srv, viewer, form.get("container"))
    scope = form.get("scope", "")
    engine = srv.engine_for(account.id)
    if form.get("confirm", "") != scope:
        context = base_context(viewer, srv, account, f"Delete scope {scope}")
        context.update(scope=scope, count=engine.count(scope), error="Type the scope's name exactly to confirm.")
        return page(request, "delete_scope.html", status=400, csrf=viewer.csrf, **context)
    engine.drop_scope(scope)
    return redirect("/memories?" + urlencode(_keep(account, notice="scope-deleted")))


def _keep(account: Account, **params: str) -> dict[str, str]:
    """Query parameters that keep the page in the same account or container."""
    return {**({"container": account.id} if account.is_container else {}), **params}


def _history(engine: Any, memory: MemoryRecord) -> list[HistoryEntry]:
    entries: list[HistoryEntry]
    if memory.key is not None:
        entries = engine.history(scope=memory.scope, key=memory.key)
    else:
        entries = engine.history(memory.id)
    return entries


@dataclass(frozen=True)
class Span:
    """One value of a key's timeline: what it was, from when, until when (None: it still holds)."""

    value: str
    valid_from: int | None
    valid_to: int | None
    current: bool


def _timeline(history: list[HistoryEntry], memory: MemoryRecord) -> list[Span]:
    """The values a key held, oldest first, each with its interval (changes of metadata alone are not values)."""
    if memory.key is None:
        return []
    spans = [Span(h.value, h.valid_from, h.valid_to, False) for h in history if h.valid_to is not None]
    since = memory.valid_from if memory.valid_from is not None else memory.created_at
    return [*spans, Span(memory.value, since, memory.valid_to, memory.superseded_by is None)]


def _memory_page(
    request: Request, viewer: Viewer, account: Account, memory_id: str, **extra: Any
) -> tuple[dict[str, Any], MemoryRecord]:
    srv = state(request)
    engine = srv.engine_for(account.id)
    memory = engine.get(memory_id)
    context = base_context(viewer, srv, account, "Memory")
    history = _history(engine, memory)
    context.update(memory=memory, history=history, timeline=_timeline(history, memory), error=None, notice=None)
    context["draft"] = {
        "value": memory.value,
        "metadata": json.dumps(memory.metadata, indent=2, ensure_ascii=False, sort_keys=True),
        "importance": f"{memory.importance:g}",
    }
    context.update(extra)
    return context, memory


@router.get("/memories/{memory_id}")
def memory_detail(request: Request, memory_id: str) -> Response:
    viewer, _, account = where(request)
    context, _ = _memory_page(request, viewer, account, memory_id)
    context["notice"] = NOTICES.get(request.query_params.get("notice", ""))
    return page(request, "memory.html", csrf=viewer.csrf, **context)


def _edits(form: dict[str, str], memory: MemoryRecord) -> dict[str, Any]:
    """The changed fields of an edit form, as :meth:`Engine.update` keywords.

    Raises:
        InvalidRequest: metadata that is not a JSON object, or an importance that is not a number.
    """
    changes: dict[str, Any] = {}
    value = form.get("value", "").replace("\r\n", "\n")
    if value != memory.value:
        changes["value"] = value
    try:
        metadata = json.loads(form.get("metadata", "").strip() or "{}")
    except ValueError:
        raise InvalidRequest("metadata: expected a JSON object") from None
    if not isinstance(metadata, dict):
        raise InvalidRequest("metadata: expected a JSON object")
    if metadata != memory.metadata:
        changes["metadata"] = metadata
    try:
        importance = float(form.get("importance", "").strip())
    except ValueError:
        raise InvalidRequest("importance: expected a number from 0 to 1") from None
    if importance != memory.importance:
        changes["importance"] = importance
    return changes


@router.post("/memories/{memory_id}")
def edit_memory(request: Request, memory_id: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    account = tenant(srv, viewer, form.get("container"))
    context, memory = _memory_page(request, viewer, account, memory_id)
    if memory.superseded_by is not None:
        raise InvalidRequest("This memory was superseded; edit the one that replaced it.")
    try:
        changes = _edits(form, memory)
        if changes:
            srv.engine_for(account.id).update(memory.id, replace_metadata=True, **changes)
    except MemoryLayerError as error:
        draft = {name: form.get(name, "") for name in ("value", "metadata", "importance")}
        context.update(error=problem(error), draft=draft)
        return page(request, "memory.html", status=error.status, csrf=viewer.csrf, **context)
    notice = "saved" if changes else "unchanged"
    return redirect(f"/memories/{memory.id}?" + urlencode(_keep(account, notice=notice)))


@router.get("/memories/{memory_id}/delete")
def confirm_delete(request: Request, memory_id: str) -> Response:
    viewer, _, account = where(request)
    context, _ = _memory_page(request, viewer, account, memory_id, title="Delete memory")
    return page(request, "delete_memory.html", csrf=viewer.csrf, **context)


@router.post("/memories/{memory_id}/delete")
def delete_memory(request: Request, memory_id: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    account = tenant(srv, viewer, form.get("container"))
    engine = srv.engine_for(account.id)
    memory = engine.get(memory_id)
    engine.delete(memory.id)
    target = _keep(account, scope=memory.scope, notice="deleted")
    return redirect("/memories/list?" + urlencode(target))
