"""What every dashboard page shares: templates, security headers, cookies, forms, redirects and error pages.

Pages are server-rendered Jinja2 with autoescaping on, so memory text (user content) is always
escaped. Every response carries a strict Content-Security-Policy: scripts and styles only from this
server's own files, no inline script, no framing, forms posting only here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from ... import limits
from ...errors import InvalidRequest, MemoryLayerError, RateLimited
from ..core import request_id, state

CSRF_COOKIE = "memorylayer_csrf"
CSRF_FIELD = "csrf_token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Claim tokens travel in page URLs: never hand them to another site in a Referer.
    "Referrer-Policy": "no-referrer",
    # Pages show raw keys once and private memories: no shared or back-button caches.
    "Cache-Control": "no-store",
}


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _preview(text: str, size: int = limits.DASHBOARD_PREVIEW_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("memorylayer.server.dashboard", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["preview"] = _preview
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    env.filters["num"] = lambda value: f"{value:,}" if isinstance(value, int) else str(value)
    env.filters["score"] = lambda value: f"{value:.3f}"
    env.globals["limits"] = limits
    env.globals["query"] = lambda **params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return env


TEMPLATES = _environment()


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to the sign-in page."""


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` when the request came over HTTPS or the server is published at an https URL."""
    return request.url.scheme == "https" or state(request).server.public_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure_cookies(request)
    )


def anonymous_csrf(request: Request) -> tuple[str, bool]:
    """The signed-out visitor's CSRF token (double-submit cookie) and whether it is new."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) >= 32:
        return token, False
    return secrets.token_urlsafe(32), True


def page(request: Request, template: str, *, status: int = 200, csrf: str | None = None, **context: Any) -> Response:
    """Render ``template`` with the security headers; ``csrf`` is the token the page's forms carry.

    Without one (a signed-out page) the visitor's anonymous token is used, and set as a cookie if new.
    """
    fresh = False
    if csrf is None:
        csrf, fresh = anonymous_csrf(request)
    html = TEMPLATES.get_template(template).render(request=request, csrf_token=csrf, **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if fresh:
        set_cookie(request, response, CSRF_COOKIE, csrf, None)
    return response


def redirect(url: str) -> Response:
    """A 303 See Other (after a POST, the browser GETs ``url``)."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def local_path(target: str | None, default: str = "/memories") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def problem(error: MemoryLayerError) -> str:
    """A sentence for a person: the issues of an invalid request, or the error's message."""
    if isinstance(error, InvalidRequest) and isinstance(error.details, list) and error.details:
        parts = []
        for issue in error.details:
            if isinstance(issue, dict):
                path = ".".join(str(p) for p in issue.get("path", []))
                parts.append(f"{path}: {issue.get('message', '')}" if path else str(issue.get("message", "")))
        if parts:
            return "; ".join(parts)
    if isinstance(error, RateLimited):
        return f"{error.message} (try again in {error.retry_after} s)"
    return error.message


def error_page(request: Request, error: MemoryLayerError, csrf: str | None = None) -> Response:
    return page(
        request,
        "error.html",
        status=error.status if 400 <= error.status < 600 else 500,
        csrf=csrf,
        viewer=None,
        title=type(error).__name__,
        error=error,
        message=problem(error),
        request_id=request_id(request),
    )


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect("/signin?" + urlencode({"next": target}))


class PageRoute(APIRoute):
    """A dashboard route: errors become HTML pages, and pages that need a user send others to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except MemoryLayerError as error:
                return error_page(request, error)

        return run


async def _form(request: Request) -> dict[str, str]:
    try:
        data = await request.form()
    except Exception as exc:  # a malformed body is the client's fault, whatever the parser raised
        raise InvalidRequest("The form could not be read") from exc
    return {name: value for name, value in data.items() if isinstance(value, str)}


def form_data() -> Any:
    """A dependency: the posted form's text fields (files are ignored)."""
    return Depends(_form)


def text_param(request: Request, name: str) -> str | None:
    """A query parameter, trimmed; None when absent or empty."""
    value = request.query_params.get(name, "").strip()
    return value or None


def int_param(raw: str | None, name: str, default: int) -> int:
    """An integer form or query value.

    Raises:
        InvalidRequest: not a whole number.
    """
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidRequest(f"{name}: expected a whole number") from None
