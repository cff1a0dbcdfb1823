"""Signed-in sessions and CSRF protection of the dashboard.

Sign-in runs the rules of ``/v1/auth/*`` (:func:`..accounts.request_code`, :func:`..accounts.verify_code`,
with their limits): the verified code mints a full-scope key that expires with the session and whose
raw value is never shown or kept. The browser gets a random session token in an HttpOnly, SameSite=Lax
cookie (Secure behind HTTPS); the database keeps its hash, the account, the key and a CSRF token.
The session ends at sign-out (its key is revoked), at its expiry, or when its key is revoked.

Every form that changes something carries a CSRF token: the session's once signed in, before that a
random token that must match the visitor's ``memorylayer_csrf`` cookie (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from ...errors import Forbidden, InternalError, InvalidCode
from ...store.accounts import Account
from ...store.sessions import Session
from .. import accounts
from ..auth import Caller, sha256
from ..core import ServerState, state
from .web import CSRF_COOKIE, CSRF_FIELD, SignInRequired, secure_cookies, set_cookie

SESSION_COOKIE = "memorylayer_session"
#: The name and ``issuedTo`` of the key behind each dashboard session.
SESSION_KEY_NAME = "Dashboard sign-in"
#: A session's last-seen time is written at most this often (ms), not on every page.
TOUCH_EVERY_MS = 60_000
CSRF_REFUSED = "This form has expired or did not come from this site. Reload the page and try again."


@dataclass(frozen=True)
class Viewer:
    """The signed-in user: their session and the key behind it, as a :class:`..auth.Caller`."""

    session: Session
    caller: Caller

    @property
    def account(self) -> Account:
        return self.caller.account

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


def current(request: Request) -> Viewer | None:
    """The signed-in user of ``request``, or None (no cookie, an unknown or ended session)."""
    if hasattr(request.state, "viewer"):
        found: Viewer | None = request.state.viewer
        return found
    viewer = _lookup(state(request), request.cookies.get(SESSION_COOKIE, ""))
    request.state.viewer = viewer
    return viewer


def _lookup(srv: ServerState, token: str) -> Viewer | None:
    if not token:
        return None
    token_hash = sha256(token)
    session = srv.sessions.session_by_token(token_hash)
    if session is None:
        return None
    now = srv.now()
    key = srv.store.get_key(session.key_id)
    account = srv.store.get_account(session.account_id)
    usable = key is not None and key.revoked_at is None and (key.expires_at is None or key.expires_at > now)
    if session.expires_at <= now or not usable or account is None or key is None or account.is_container:
        srv.sessions.delete_session(token_hash)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY_MS:
        srv.sessions.touch_session(token_hash, now=now)
    return Viewer(session, Caller(key, account, account))


def required(request: Request) -> Viewer:
    """The signed-in user.

    Raises:
        SignInRequired: nobody is signed in (the page redirects to the sign-in form).
    """
    viewer = current(request)
    if viewer is None:
        raise SignInRequired()
    return viewer


def check_csrf(request: Request, form: dict[str, str], viewer: Viewer | None) -> None:
    """Refuse a form whose CSRF token is not the session's (or, signed out, the cookie's).

    Raises:
        Forbidden: the token is missing or wrong.
    """
    sent = form.get(CSRF_FIELD, "")
    expected = viewer.csrf if viewer is not None else request.cookies.get(CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise Forbidden(CSRF_REFUSED)


def posted(request: Request, form: dict[str, str]) -> Viewer:
    """The signed-in user of a form post whose CSRF token checks out.

    Raises:
        SignInRequired: nobody is signed in. Forbidden: a bad CSRF token.
    """
    viewer = required(request)
    check_csrf(request, form, viewer)
    return viewer


def start(srv: ServerState, email: str, code: str, user_agent: str) -> tuple[str, Session]:
    """Verify ``code`` for ``email`` (the rules of ``/v1/auth/verify-code``) and open a session.

    The key, the account (for a new email) and the session are one transaction; a wrong guess is
    still counted towards the lock.

    Raises:
        InvalidCode, RateLimited: as :func:`..accounts.verify_code`.
    """
    now = srv.now()
    expires_at = now + srv.server.session_ttl_s * 1000
    token = secrets.token_urlsafe(32)
    refused: InvalidCode | None = None
    session: Session | None = None
    with srv.engine.backend.transaction():
        srv.sessions.delete_expired_sessions(now=now)
        try:
            signed = accounts.verify_code(srv, email, code, SESSION_KEY_NAME, expires_at=expires_at)
        except InvalidCode as error:
            # verify_code counts the wrong guess before raising; this transaction must commit it.
            refused = error
        else:
            key = srv.store.key_by_hash(sha256(signed.api_key))
            if key is None:  # just minted in this transaction
                raise InternalError("the key minted for this session cannot be read back")
            session = srv.sessions.create_session(
                token_hash=sha256(token),
                account_id=signed.account.id,
                key_id=key.id,
                csrf_token=secrets.token_urlsafe(32),
                now=now,
                expires_at=expires_at,
                user_agent=user_agent[:255],
            )
    if refused is not None or session is None:
        raise refused or InvalidCode(accounts.INVALID_CODE)
    return token, session


def remember(request: Request, response: Response, token: str) -> None:
    """Set the session cookie on ``response``."""
    set_cookie(request, response, SESSION_COOKIE, token, state(request).server.session_ttl_s)


def end(srv: ServerState, viewer: Viewer) -> None:
    """Sign out: the session goes and its key is revoked, in one transaction."""
    with srv.engine.backend.transaction():
        srv.sessions.delete_session(viewer.session.token_hash)
        srv.store.revoke_key(viewer.session.key_id, now=srv.now())


def forget(request: Request, response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
