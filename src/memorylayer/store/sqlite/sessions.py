"""SQLite implementations of :class:`~memorylayer.store.sessions.SessionStore` and
:class:`~memorylayer.store.usage.UsageStore`, in the shared database file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ...errors import Conflict
from ..sessions import Session
from ..usage import DailyUsage
from .db import Database


def _session(row: sqlite3.Row) -> Session:
    return Session(**dict(row))


class SqliteSessionStore:
    """Dashboard sessions (``wm_sessions``); a session goes with its account (foreign key, cascade)."""

    def __init__(self, database: Database) -> None:
        self.db = database

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
        session = Session(token_hash, account_id, key_id, csrf_token, now, expires_at, now, user_agent)
        with self.db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO wm_sessions (token_hash, account_id, key_id, csrf_token, created_at, expires_at,"
                    " last_seen_at, user_agent) VALUES (?,?,?,?,?,?,?,?)",
                    (token_hash, account_id, key_id, csrf_token, now, expires_at, now, user_agent),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("a session with this token exists") from exc
        return session

    def session_by_token(self, token_hash: str) -> Session | None:
        row = self.db.conn.execute("SELECT * FROM wm_sessions WHERE token_hash = ?", (token_hash,)).fetchone()
        return None if row is None else _session(row)

    def touch_session(self, token_hash: str, *, now: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE wm_sessions SET last_seen_at = ? WHERE token_hash = ?", (now, token_hash))

    def delete_session(self, token_hash: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM wm_sessions WHERE token_hash = ?", (token_hash,)).rowcount > 0

    def delete_expired_sessions(self, *, now: int) -> int:
        with self.db.transaction() as conn:
            return int(conn.execute("DELETE FROM wm_sessions WHERE expires_at <= ?", (now,)).rowcount)

    def account_sessions(self, account_id: str) -> list[Session]:
        rows = self.db.conn.execute(
            "SELECT * FROM wm_sessions WHERE account_id = ? ORDER BY created_at DESC, token_hash", (account_id,)
        ).fetchall()
        return [_session(r) for r in rows]


class SqliteUsageStore:
    """Calls per account per UTC day (``wm_daily_usage``)."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def count_usage(self, account_id: str, day: str, *, api_calls: int = 0, mcp_calls: int = 0) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO wm_daily_usage (account_id, day, api_calls, mcp_calls) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, day) DO UPDATE SET api_calls = api_calls + excluded.api_calls, "
                "mcp_calls = mcp_calls + excluded.mcp_calls",
                (account_id, day, api_calls, mcp_calls),
            )

    def daily_usage(self, account_ids: Sequence[str], since: str) -> list[DailyUsage]:
        if not account_ids:
            return []
        marks = ",".join("?" * len(account_ids))
        rows = self.db.conn.execute(
            f"SELECT day, sum(api_calls), sum(mcp_calls) FROM wm_daily_usage"
            f" WHERE account_id IN ({marks}) AND day >= ? GROUP BY day ORDER BY day",
            (*account_ids, since),
        ).fetchall()
        return [DailyUsage(r[0], int(r[1]), int(r[2])) for r in rows]
