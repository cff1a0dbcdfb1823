"""The web dashboard: sign in by emailed code; memories, the recall playground, keys, containers, usage,
the human claim page and ``/docs``. Server-rendered Jinja2 with a little JavaScript of our own.

:func:`mount_dashboard` adds it to the app made by :func:`memorylayer.server.create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from ...errors import NotFound
from . import claim, docs, keys, memories, playground, signin, usage
from .claim import claim_page
from .web import error_page

__all__ = ["claim_page", "mount_dashboard", "not_found_page"]


def mount_dashboard(app: FastAPI) -> None:
    """Add the dashboard's pages and its static files (``/static``, ``/docs/assets``) to ``app``."""
    for module in (signin, memories, playground, keys, usage, claim, docs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("memorylayer.server.dashboard", "static")]), name="dashboard")
    app.mount(docs.ASSETS_URL, StaticFiles(directory=docs.swagger_assets()), name="swagger-ui")


def not_found_page(request: Request) -> Response:
    """The HTML 404 a browser gets for an unknown page."""
    return error_page(request, NotFound("There is no page at this address."))
