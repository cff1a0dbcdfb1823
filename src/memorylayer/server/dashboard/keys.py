"""API keys and containers: list, create (the raw key shown once), revoke, delete; the plan rules of the
API (``/v1/containers``) through :mod:`..accounts` and :mod:`..auth`.

Creating containers and container keys needs a plan with containers, as in the API. Listing them, revoking
their keys and deleting them does not, so a container made by claiming a cache (on any plan) can always be
seen and removed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ...errors import InvalidRequest, MemoryLayerError, NotFound
from ...store.accounts import Account, ApiKey
from .. import accounts
from .. import validation as v
from ..auth import ADMIN, CONTAINER_DEFAULT_SCOPES, READ, WRITE, mint_key, require_plan
from ..core import ServerState, state
from . import sessions
from .memories import tenant
from .sessions import SESSION_KEY_NAME, Viewer
from .usage import usage_chart
from .web import PageRoute, form_data, page, problem, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ACCOUNT_SCOPES = (READ, WRITE, ADMIN)
CONTAINER_SCOPES = (READ, WRITE)
#: Ended keys listed under the active ones (older ones stay in the database, not on the page).
ENDED_SHOWN = 20


def key_status(key: ApiKey, now: int) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _keys_context(srv: ServerState, owner: Account, viewer: Viewer) -> dict[str, Any]:
    now = srv.now()
    keys = sorted(srv.store.list_keys(owner.id), key=lambda k: -k.created_at)
    active = [k for k in keys if key_status(k, now) == "active"]
    ended = [k for k in keys if key_status(k, now) != "active"][:ENDED_SHOWN]
    today = srv.today()
    return {
        "active_keys": active,
        "ended_keys": ended,
        "key_state": lambda k: key_status(k, now),
        "mcp_today": {k.id: srv.store.daily_calls(k.id, today) for k in active},
        "mcp_limit": srv.server.plan(viewer.account.plan_tier).mcp_daily_calls,
        "session_key": viewer.session.key_id,
        "session_key_name": SESSION_KEY_NAME,
    }


def _new_key_fields(form: dict[str, str], allowed: tuple[str, ...]) -> tuple[str, str, int | None]:
    """(name, scopes, expires in seconds) of a new-key form, checked by the API's rules.

    Raises:
        InvalidRequest: no name, no scope, a scope not allowed here, or a bad expiry.
    """
    scopes = [scope for scope in allowed if form.get(f"scope:{scope}") == "on"]
    if not scopes:
        raise InvalidRequest("scopes: choose at least one scope")
    data: dict[str, Any] = {"issuedTo": form.get("name", "").strip(), "scopes": ",".join(scopes)}
    days = form.get("expires_days", "").strip()
    if days:
        try:
            data["expiresIn"] = int(days) * 86_400
        except ValueError:
            raise InvalidRequest("expires_days: expected a whole number of days") from None
    checked = v.CONTAINER_KEY.validate(data)
    return checked["issuedTo"], checked["scopes"], checked.get("expiresIn")


def _created(request: Request, viewer: Viewer, owner: Account, key: ApiKey, raw: str) -> Response:
    context: dict[str, Any] = {"viewer": viewer, "title": "Key created", "owner": owner, "key": key, "raw_key": raw}
    return page(request, "key_created.html", csrf=viewer.csrf, **context)


# -- the account's own keys ------------------------------------------------------------------------------
@router.get("/keys")
def keys_page(request: Request) -> Response:
    return _keys_view(request, sessions.required(request))


def _keys_view(request: Request, viewer: Viewer, error: str | None = None, status: int = 200) -> Response:
    srv = state(request)
    context: dict[str, Any] = {"viewer": viewer, "title": "API keys", "error": error, "scopes": ACCOUNT_SCOPES}
    context.update(_keys_context(srv, viewer.account, viewer))
    return page(request, "keys.html", status=status, csrf=viewer.csrf, **context)


@router.post("/keys")
def create_key(request: Request, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    try:
        name, scopes, expires_in = _new_key_fields(form, ACCOUNT_SCOPES)
    except InvalidRequest as error:
        return _keys_view(request, viewer, problem(error), status=400)
    now = srv.now()
    key, raw = mint_key(
        srv.store,
        viewer.account.id,
        scopes=scopes,
        now=now,
        name=name,
        issued_to=name,
        expires_at=now + expires_in * 1000 if expires_in else None,
    )
    return _created(request, viewer, viewer.account, key, raw)


def _revoke(srv: ServerState, owner: Account, key_id: str) -> ApiKey:
    key = srv.store.get_key(key_id)
    if key is None or key.account_id != owner.id or not srv.store.revoke_key(key.id, now=srv.now()):
        raise NotFound("Key not found")
    return key


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    key = _revoke(state(request), viewer.account, key_id)
    if key.id == viewer.session.key_id:
        response = redirect("/signin")
        sessions.forget(request, response)
        return response
    return redirect("/keys")


# -- containers ---------------------------------------------------------------------------------------------
def _plan_problem(srv: ServerState, account: Account) -> str | None:
    try:
        require_plan(srv, account, "containers")
    except MemoryLayerError as error:
        return problem(error)
    return None


@router.get("/containers")
def containers_page(request: Request) -> Response:
    return _containers_view(request, sessions.required(request))


def _containers_view(
    request: Request, viewer: Viewer, error: str | None = None, status: int = 200, name: str = ""
) -> Response:
    srv = state(request)
    rows = [
        (c, srv.engine_for(c.id).count(), srv.store.count_active_keys(c.id))
        for c in srv.store.containers(viewer.account.id)
    ]
    context: dict[str, Any] = {"viewer": viewer, "title": "Containers", "rows": rows, "error": error, "name": name}
    context["plan_problem"] = _plan_problem(srv, viewer.account)
    return page(request, "containers.html", status=status, csrf=viewer.csrf, **context)


@router.post("/containers")
def create_container(request: Request, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    name = form.get("name", "")
    try:
        require_plan(srv, viewer.account, "containers")
        data = v.CONTAINER_CREATE.validate({"name": name})
        container = accounts.create_container(srv, viewer.account, data["name"], None)
    except MemoryLayerError as error:
        return _containers_view(request, viewer, problem(error), status=error.status, name=name)
    return redirect(f"/containers/{container.id}")


@router.get("/containers/{container_id}")
def container_page(request: Request, container_id: str) -> Response:
    viewer = sessions.required(request)
    return _container_view(request, viewer, tenant(state(request), viewer, container_id))


def _container_view(
    request: Request, viewer: Viewer, container: Account, error: str | None = None, status: int = 200
) -> Response:
    srv = state(request)
    context: dict[str, Any] = {"viewer": viewer, "title": f"Container {container.name}", "owner": container}
    context.update(_keys_context(srv, container, viewer), error=error, scopes=CONTAINER_SCOPES)
    context.update(memory_count=srv.engine_for(container.id).count(), chart=usage_chart(srv, [container.id]))
    context["plan_problem"] = _plan_problem(srv, viewer.account)
    context["default_scopes"] = CONTAINER_DEFAULT_SCOPES.split(",")
    return page(request, "container.html", status=status, csrf=viewer.csrf, **context)


@router.post("/containers/{container_id}/keys")
def create_container_key(request: Request, container_id: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    container = tenant(srv, viewer, container_id)
    try:
        require_plan(srv, viewer.account, "containers")
        name, scopes, expires_in = _new_key_fields(form, CONTAINER_SCOPES)
    except MemoryLayerError as error:
        return _container_view(request, viewer, container, problem(error), status=error.status)
    now = srv.now()
    key, raw = mint_key(
        srv.store,
        container.id,
        scopes=scopes,
        now=now,
        issued_to=name,
        expires_at=now + expires_in * 1000 if expires_in else None,
        parent_key_id=viewer.caller.key.id,
    )
    return _created(request, viewer, container, key, raw)


@router.post("/containers/{container_id}/keys/{key_id}/revoke")
def revoke_container_key(
    request: Request, container_id: str, key_id: str, form: dict[str, str] = form_data()
) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    container = tenant(srv, viewer, container_id)
    _revoke(srv, container, key_id)
    return redirect(f"/containers/{container.id}")


@router.get("/containers/{container_id}/delete")
def confirm_container_delete(request: Request, container_id: str) -> Response:
    viewer = sessions.required(request)
    srv = state(request)
    container = tenant(srv, viewer, container_id)
    context: dict[str, Any] = {"viewer": viewer, "title": "Delete container", "owner": container, "error": None}
    context["memory_count"] = srv.engine_for(container.id).count()
    return page(request, "delete_container.html", csrf=viewer.csrf, **context)


@router.post("/containers/{container_id}/delete")
def delete_container(request: Request, container_id: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    srv = state(request)
    container = tenant(srv, viewer, container_id)
    if form.get("confirm", "") != (container.name or ""):
        context: dict[str, Any] = {"viewer": viewer, "title": "Delete container", "owner": container}
        context.update(memory_count=srv.engine_for(container.id).count(), error="Type the container's name to confirm.")
        return page(request, "delete_container.html", status=400, csrf=viewer.csrf, **context)
    accounts.delete_container(srv, container)
    return redirect("/containers")
