"""Signed-in browser sessions of the dashboard, behind a small protocol like :class:`.accounts.AccountStore`.

The cookie holds a random token; only its SHA-256 is stored. A session belongs to an account and is
backed by one API key (minted at sign-in with the session's expiry), so signing out or revoking that
key ends it. Times are integer milliseconds UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Session:
    token_hash: str
    account_id: str
    key_id: str
    csrf_token: str
    created_at: int
    expires_at: int
    last_seen_at: int
    user_agent: str = ""


class SessionStore(Protocol):
    """Persistence of dashboard sessions. Every method is one transaction unless inside ``atomic``."""

    def create_session(
        self,
        *,
        token_hash: str,
        account_id: str,
        key_id: str,
        csrf_token: str,
        now: int,
        expires_at: int,
        user_agent: str = "",
    ) -> Session:
        """A new session.

        Raises:
            Conflict: a session with this token hash exists.
        """
        ...

    def session_by_token(self, token_hash: str) -> Session | None:
        """The session of a token hash, expired or not (the caller decides)."""
        ...

    def touch_session(self, token_hash: str, *, now: int) -> None: ...

    def delete_session(self, token_hash: str) -> bool:
        """Remove a session; False if there was none."""
        ...

    def delete_expired_sessions(self, *, now: int) -> int:
        """Remove every session whose expiry is at or before ``now``; returns how many went."""
        ...

    def account_sessions(self, account_id: str) -> list[Session]:
        """The account's sessions, newest first."""
        ...
