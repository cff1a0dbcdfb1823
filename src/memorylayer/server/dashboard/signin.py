"""Sign-in by emailed code and sign-out (the rules and limits of ``/v1/auth/*``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from ...errors import InvalidRequest, RateLimited, Unauthorized
from .. import accounts
from .. import validation as v
from ..core import client_ip, state
from . import sessions
from .web import PageRoute, form_data, local_path, page, problem, redirect, text_param

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/signin")
def signin_form(request: Request) -> Response:
    next_page = local_path(text_param(request, "next"))
    if sessions.current(request) is not None:
        return redirect(next_page)
    return page(request, "signin.html", viewer=None, title="Sign in", next=next_page, email="", error=None)


@router.post("/signin")
def request_code(request: Request, form: dict[str, str] = form_data()) -> Response:
    sessions.check_csrf(request, form, None)
    next_page = local_path(form.get("next"))
    email = form.get("email", "").strip()
    try:
        data = v.REQUEST_CODE.validate({"email": email})
        accounts.request_code(state(request), data["email"].lower(), client_ip(request))
    except (InvalidRequest, RateLimited) as error:
        status = error.status
        context = {"title": "Sign in", "next": next_page, "email": email, "error": problem(error)}
        return page(request, "signin.html", status=status, viewer=None, **context)
    return redirect("/signin/code?" + urlencode({"email": data["email"].lower(), "next": next_page}))


@router.get("/signin/code")
def code_form(request: Request) -> Response:
    email = text_param(request, "email") or ""
    next_page = local_path(text_param(request, "next"))
    if not email:
        return redirect("/signin")
    return page(
        request, "signin_code.html", viewer=None, title="Enter your code", email=email, next=next_page, error=None
    )


@router.post("/signin/code")
def verify_code(request: Request, form: dict[str, str] = form_data()) -> Response:
    sessions.check_csrf(request, form, None)
    email, code = form.get("email", "").strip(), form.get("code", "").strip()
    next_page = local_path(form.get("next"))
    try:
        data = v.VERIFY_CODE.validate({"email": email, "code": code})
        token, _ = sessions.start(
            state(request), data["email"].lower(), data["code"], request.headers.get("user-agent", "")
        )
    except (InvalidRequest, Unauthorized, RateLimited) as error:
        context = {"title": "Enter your code", "email": email, "next": next_page, "error": problem(error)}
        return page(request, "signin_code.html", status=error.status, viewer=None, **context)
    response = redirect(next_page)
    sessions.remember(request, response, token)
    return response


@router.post("/signout")
def sign_out(request: Request, form: dict[str, str] = form_data()) -> Response:
    viewer = sessions.current(request)
    if viewer is not None:
        sessions.check_csrf(request, form, viewer)
        sessions.end(state(request), viewer)
    response = redirect("/signin")
    sessions.forget(request, response)
    return response
