"""``/docs``: the OpenAPI schema in Swagger UI, with no CDN.

Swagger UI's files come from the ``fastapi-offline`` package (installed from the package index with the
server, never copied into this repository) and are served from ``/docs/assets``; the page starts it
from our own script, so the page's Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request, Response

from .web import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ASSETS_URL = "/docs/assets"


def swagger_assets() -> Path:
    """The folder holding ``swagger-ui-bundle.js`` and ``swagger-ui.css``."""
    return Path(str(files("fastapi_offline"))) / "static"


@router.get("/docs")
def docs(request: Request) -> Response:
    return page(request, "docs.html", viewer=None, title="API reference", assets=ASSETS_URL)
