"""The human claim page behind a cache's ``claimUrl``: what the cache holds (keys and counts, as the
preview shows), a claim button for a signed-in user (:func:`..accounts.claim_cache`), the read-only
container key shown once, and clear pages for unknown, claimed and expired tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from ...errors import AlreadyClaimed, CacheExpired, MemoryLayerError, NotFound
from .. import accounts
from ..core import state
from . import sessions
from .web import PageRoute, form_data, page, problem

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PROBLEMS = {
    NotFound: ("Unknown claim link", "This claim link does not match any cache. Check that you copied all of it."),
    AlreadyClaimed: (
        "Already claimed",
        "This cache has already been claimed. Its read-only key was shown once, to whoever claimed it.",
    ),
    CacheExpired: ("Claim link expired", "This cache expired before anyone claimed it; its entries are gone."),
}


def _problem(request: Request, error: MemoryLayerError, viewer: sessions.Viewer | None) -> Response:
    title, text = next(((t, x) for kind, (t, x) in PROBLEMS.items() if isinstance(error, kind)), ("Cannot claim", ""))
    context: dict[str, Any] = {"viewer": viewer, "title": title, "text": text or problem(error), "code": error.code}
    return page(request, "claim_problem.html", status=error.status, csrf=viewer.csrf if viewer else None, **context)


def claim_page(request: Request, claim_token: str) -> Response:
    """The page a person opening ``claimUrl`` in a browser sees."""
    srv = state(request)
    viewer = sessions.current(request)
    try:
        cache = accounts.claimable(srv, claim_token)
    except (NotFound, AlreadyClaimed, CacheExpired) as error:
        return _problem(request, error, viewer)
    context: dict[str, Any] = {
        "viewer": viewer,
        "title": "Claim a memory cache",
        "cache": cache,
        "entries": srv.store.list_entries(cache.id),
        "token": claim_token,
        "signin": "/signin?" + urlencode({"next": f"/claim/{claim_token}"}),
    }
    return page(request, "claim.html", csrf=viewer.csrf if viewer else None, **context)


@router.post("/claim/{claim_token}")
def claim(request: Request, claim_token: str, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.posted(request, form)
    try:
        made = accounts.claim_cache(state(request), viewer.caller, claim_token)
    except MemoryLayerError as error:
        return _problem(request, error, viewer)
    context: dict[str, Any] = {"viewer": viewer, "title": "Cache claimed", "made": made}
    return page(request, "claim_done.html", csrf=viewer.csrf, **context)
