"""PostgreSQL implementations of the account, session and usage stores, in the memories' database.

Every write runs in :meth:`Database.transaction`, which holds the writers' lock, so the methods that
check and write at once (``meter``, ``set_entry``, ``take_daily_call``, ``mark_claimed``,
``use_code``) stay atomic across every replica; :meth:`PostgresAccountStore.lock` adds the named
advisory lock the account rules ask for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import errors as pg

from ...errors import Conflict, InternalError
from ..accounts import Account, ApiKey, AuthCode, Cache, CacheEntry, IdempotencyRecord, MeterResult, SignInFailures
from ..sessions import Session
from ..usage import DailyUsage
from .db import Database, Row

_CODE_COLUMNS = "id, email, code_hash, created_at, expires_at, used_at, ip_address"
_ACCOUNT_COLUMNS = (
    "id, email, name, metadata, parent_account_id, plan_tier, plan_status, memory_limit, monthly_api_call_limit,"
    " api_calls_this_period, current_period_start, current_period_end, extraction_prompt, created_at"
)
_KEY_COLUMNS = (
    "id, account_id, key_prefix, name, scopes, expires_at, issued_to, revoked_at, parent_key_id, created_at,"
    " last_used_at"
)
_CACHE_COLUMNS = "id, ip_address, ttl_seconds, expires_at, claimed_by_account_id, claimed_at, created_at"
_ENTRY_COLUMNS = "key, value, created_at, updated_at"


def _account(row: Row) -> Account:
    data = dict(row)
    data["metadata"] = json.loads(data["metadata"] or "{}")
    return Account(**data)


class PostgresAccountStore:
    """Accounts, keys, caches, codes, MCP daily calls and idempotency keys (``wm_*`` tables)."""

    def __init__(self, database: Database) -> None:
        self.db = database

    @contextmanager
    def atomic(self) -> Iterator[Any]:
        # The writers' lock waits until a memory write or a named lock needs it (Database.transaction).
        with self.db.transaction(exclusive=False) as conn:
            yield conn

    def lock(self, name: str) -> None:
        if not self.db.in_transaction():
            raise InternalError(f"lock({name!r}) outside a transaction")
        # Always the writers' lock first, then the named one: one order, so no two transactions deadlock.
        self.db.hold_writers_lock()
        self.db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))

    def _one(self, query: str, params: Sequence[Any] = ()) -> Row | None:
        return self.db.one(query, params)

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.db.execute(query, params)

    def _changed(self, query: str, params: Sequence[Any] = ()) -> bool:
        with self.atomic():
            return self.db.rowcount(query, params) > 0

    # accounts -------------------------------------------------------------------------------
    def create_account(
        self,
        email: str,
        *,
        plan_tier: str,
        memory_limit: int,
        monthly_api_call_limit: int,
        parent_account_id: str | None = None,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        now: int,
    ) -> Account:
        account_id = str(uuid.uuid4())
        with self.db.savepoint():
            try:
                self.db.execute(
                    "INSERT INTO wm_accounts (id, email, name, metadata, parent_account_id, plan_tier, memory_limit,"
                    " monthly_api_call_limit, current_period_start, created_at)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (
                        account_id,
                        email,
                        name,
                        json.dumps(metadata or {}),
                        parent_account_id,
                        plan_tier,
                        memory_limit,
                        monthly_api_call_limit,
                        now,
                        now,
                    ),
                )
            except pg.UniqueViolation as exc:
                if exc.diag.constraint_name == "wm_accounts_email_key":
                    raise Conflict(f"an account with email {email} already exists") from exc
                if exc.diag.constraint_name == "wm_accounts_child_name":
                    raise Conflict(f"a container named {name!r} already exists") from exc
                raise
            account = self.get_account(account_id)
        assert account is not None
        return account

    def get_account(self, account_id: str) -> Account | None:
        row = self._one(f"SELECT {_ACCOUNT_COLUMNS} FROM wm_accounts WHERE id = %s", (account_id,))
        return _account(row) if row else None

    def account_by_email(self, email: str) -> Account | None:
        row = self._one(f"SELECT {_ACCOUNT_COLUMNS} FROM wm_accounts WHERE email = %s", (email,))
        return _account(row) if row else None

    def list_accounts(self) -> list[Account]:
        rows = self._all(f'SELECT {_ACCOUNT_COLUMNS} FROM wm_accounts ORDER BY created_at, id COLLATE "C"')
        return [_account(r) for r in rows]

    def containers(self, parent_account_id: str) -> list[Account]:
        rows = self._all(
            f"SELECT {_ACCOUNT_COLUMNS} FROM wm_accounts WHERE parent_account_id = %s"
            ' ORDER BY created_at, id COLLATE "C"',
            (parent_account_id,),
        )
        return [_account(r) for r in rows]

    def container_by_name(self, parent_account_id: str, name: str) -> Account | None:
        row = self._one(
            f"SELECT {_ACCOUNT_COLUMNS} FROM wm_accounts WHERE parent_account_id = %s AND name = %s",
            (parent_account_id, name),
        )
        return _account(row) if row else None

    def set_plan(
        self, account_id: str, *, plan_tier: str, memory_limit: int, monthly_api_call_limit: int
    ) -> Account | None:
        with self.atomic():
            self.db.execute(
                "UPDATE wm_accounts SET plan_tier = %s, memory_limit = %s, monthly_api_call_limit = %s WHERE id = %s",
                (plan_tier, memory_limit, monthly_api_call_limit, account_id),
            )
            return self.get_account(account_id)

    def set_extraction_prompt(self, account_id: str, prompt: str | None) -> None:
        with self.atomic():
            self.db.execute("UPDATE wm_accounts SET extraction_prompt = %s WHERE id = %s", (prompt, account_id))

    def delete_account(self, account_id: str) -> bool:
        return self._changed("DELETE FROM wm_accounts WHERE id = %s", (account_id,))

    def meter(self, account_id: str, *, now: int, window_ms: int, limit: int) -> MeterResult:
        # The account's row lock (FOR UPDATE) makes this atomic; every request meters, so it does not
        # queue behind memory writes for the writers' lock.
        with self.atomic():
            row = self._one(
                "SELECT api_calls_this_period, current_period_start FROM wm_accounts WHERE id = %s FOR UPDATE",
                (account_id,),
            )
            assert row is not None, f"meter: no account {account_id}"
            count, start = int(row[0]), int(row[1])
            if now >= start + window_ms:
                count, start = 0, now
            if count >= limit:
                return MeterResult(False, count, start)
            self.db.execute(
                "UPDATE wm_accounts SET api_calls_this_period = %s, current_period_start = %s WHERE id = %s",
                (count + 1, start, account_id),
            )
            return MeterResult(True, count + 1, start)

    # keys -----------------------------------------------------------------------------------
    def create_key(
        self,
        account_id: str,
        *,
        key_hash: str,
        key_prefix: str,
        scopes: str,
        now: int,
        name: str | None = None,
        issued_to: str | None = None,
        expires_at: int | None = None,
        parent_key_id: str | None = None,
    ) -> ApiKey:
        key_id = str(uuid.uuid4())
        with self.atomic():
            self.db.execute(
                "INSERT INTO wm_api_keys (id, account_id, key_hash, key_prefix, name, scopes, expires_at, issued_to,"
                " parent_key_id, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (key_id, account_id, key_hash, key_prefix, name, scopes, expires_at, issued_to, parent_key_id, now),
            )
            key = self.get_key(key_id)
        assert key is not None
        return key

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        row = self._one(
            f"SELECT {_KEY_COLUMNS} FROM wm_api_keys WHERE key_hash = %s AND revoked_at IS NULL"
            " ORDER BY created_at LIMIT 1",
            (key_hash,),
        )
        return ApiKey(**dict(row)) if row else None

    def get_key(self, key_id: str) -> ApiKey | None:
        row = self._one(f"SELECT {_KEY_COLUMNS} FROM wm_api_keys WHERE id = %s", (key_id,))
        return ApiKey(**dict(row)) if row else None

    def list_keys(self, account_id: str) -> list[ApiKey]:
        rows = self._all(
            f'SELECT {_KEY_COLUMNS} FROM wm_api_keys WHERE account_id = %s ORDER BY created_at, id COLLATE "C"',
            (account_id,),
        )
        return [ApiKey(**dict(r)) for r in rows]

    def revoke_key(self, key_id: str, *, now: int) -> bool:
        return self._changed(
            "UPDATE wm_api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (now, key_id)
        )

    def touch_key(self, key_id: str, *, now: int) -> None:
        # One statement, without the writers' lock: the last use is a hint, not a rule.
        self.db.execute("UPDATE wm_api_keys SET last_used_at = %s WHERE id = %s", (now, key_id))

    def count_active_keys(self, account_id: str) -> int:
        row = self._one("SELECT count(*) FROM wm_api_keys WHERE account_id = %s AND revoked_at IS NULL", (account_id,))
        return int(row[0]) if row else 0

    # caches ---------------------------------------------------------------------------------
    def create_cache(
        self,
        *,
        cache_id: str,
        token_hash: str,
        claim_token_hash: str,
        ip_address: str,
        ttl_seconds: int,
        now: int,
    ) -> Cache:
        with self.atomic():
            self.db.execute(
                "INSERT INTO wm_caches (id, token_hash, claim_token_hash, ip_address, ttl_seconds, expires_at,"
                " created_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                (cache_id, token_hash, claim_token_hash, ip_address, ttl_seconds, now + ttl_seconds * 1000, now),
            )
            cache = self.get_cache(cache_id)
        assert cache is not None
        return cache

    def caches_created_since(self, ip_address: str, since: int) -> list[int]:
        rows = self._all(
            "SELECT created_at FROM wm_caches WHERE ip_address = %s AND created_at > %s ORDER BY created_at",
            (ip_address, since),
        )
        return [int(r[0]) for r in rows]

    def _cache(self, column: str, value: str) -> Cache | None:
        row = self._one(f"SELECT {_CACHE_COLUMNS} FROM wm_caches WHERE {column} = %s", (value,))
        return Cache(**dict(row)) if row else None

    def get_cache(self, cache_id: str) -> Cache | None:
        return self._cache("id", cache_id)

    def cache_by_token(self, token_hash: str) -> Cache | None:
        return self._cache("token_hash", token_hash)

    def cache_by_claim_token(self, claim_token_hash: str) -> Cache | None:
        return self._cache("claim_token_hash", claim_token_hash)

    def set_entry(self, cache_id: str, key: str, value: str, *, now: int, max_entries: int) -> CacheEntry | None:
        """Upsert an entry; None when ``key`` is new and the cache already holds ``max_entries``."""
        with self.atomic():
            # The cache's row lock serialises its writers, so the count and the insert agree.
            self._one("SELECT 1 FROM wm_caches WHERE id = %s FOR UPDATE", (cache_id,))
            exists = self._one("SELECT 1 FROM wm_cache_entries WHERE cache_id = %s AND key = %s", (cache_id, key))
            if not exists:
                count = self._one("SELECT count(*) FROM wm_cache_entries WHERE cache_id = %s", (cache_id,))
                if count is not None and int(count[0]) >= max_entries:
                    return None
            self.db.execute(
                "INSERT INTO wm_cache_entries (cache_id, key, value, created_at, updated_at) VALUES (%s,%s,%s,%s,%s)"
                " ON CONFLICT (cache_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (cache_id, key, value, now, now),
            )
            return self.get_entry(cache_id, key)

    def get_entry(self, cache_id: str, key: str) -> CacheEntry | None:
        row = self._one(
            f"SELECT {_ENTRY_COLUMNS} FROM wm_cache_entries WHERE cache_id = %s AND key = %s", (cache_id, key)
        )
        return CacheEntry(**dict(row)) if row else None

    def delete_entry(self, cache_id: str, key: str) -> bool:
        return self._changed("DELETE FROM wm_cache_entries WHERE cache_id = %s AND key = %s", (cache_id, key))

    def list_entries(self, cache_id: str) -> list[CacheEntry]:
        rows = self._all(
            f'SELECT {_ENTRY_COLUMNS} FROM wm_cache_entries WHERE cache_id = %s ORDER BY key COLLATE "C"',
            (cache_id,),
        )
        return [CacheEntry(**dict(r)) for r in rows]

    def mark_claimed(self, cache_id: str, account_id: str, *, now: int) -> bool:
        return self._changed(
            "UPDATE wm_caches SET claimed_by_account_id = %s, claimed_at = %s WHERE id = %s AND claimed_at IS NULL",
            (account_id, now, cache_id),
        )

    def release_claim(self, cache_id: str) -> None:
        self._changed("UPDATE wm_caches SET claimed_by_account_id = NULL, claimed_at = NULL WHERE id = %s", (cache_id,))

    # sign-in codes --------------------------------------------------------------------------
    def add_code(self, *, email: str, code_hash: str, ip_address: str | None, now: int, expires_at: int) -> AuthCode:
        code_id = str(uuid.uuid4())
        with self.atomic():
            self.db.execute(
                "INSERT INTO wm_auth_codes (id, email, code_hash, ip_address, created_at, expires_at)"
                " VALUES (%s,%s,%s,%s,%s,%s)",
                (code_id, email, code_hash, ip_address, now, expires_at),
            )
        return AuthCode(code_id, email, code_hash, now, expires_at, ip_address=ip_address)

    def codes_since(self, *, since: int, email: str | None = None, ip_address: str | None = None) -> list[int]:
        column, value = ("email", email) if email is not None else ("ip_address", ip_address)
        rows = self._all(
            f"SELECT created_at FROM wm_auth_codes WHERE {column} = %s AND created_at > %s ORDER BY created_at",
            (value, since),
        )
        return [int(r[0]) for r in rows]

    def latest_code(self, email: str, *, now: int) -> AuthCode | None:
        row = self._one(
            f"SELECT {_CODE_COLUMNS} FROM wm_auth_codes WHERE email = %s AND used_at IS NULL AND expires_at > %s"
            " ORDER BY created_at DESC, position DESC LIMIT 1",
            (email, now),
        )
        return AuthCode(**dict(row)) if row else None

    def use_code(self, code_id: str, *, now: int) -> bool:
        return self._changed("UPDATE wm_auth_codes SET used_at = %s WHERE id = %s AND used_at IS NULL", (now, code_id))

    def sign_in_failures(self, email: str) -> SignInFailures | None:
        row = self._one(
            "SELECT email, count, first_at, locked_until FROM wm_sign_in_failures WHERE email = %s", (email,)
        )
        return SignInFailures(**dict(row)) if row else None

    def set_sign_in_failures(self, failures: SignInFailures) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO wm_sign_in_failures (email, count, first_at, locked_until) VALUES (%s,%s,%s,%s)"
                " ON CONFLICT (email) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,"
                " locked_until = excluded.locked_until",
                (failures.email, failures.count, failures.first_at, failures.locked_until),
            )

    def clear_sign_in_failures(self, email: str) -> None:
        self._changed("DELETE FROM wm_sign_in_failures WHERE email = %s", (email,))

    # MCP daily calls ------------------------------------------------------------------------
    def take_daily_call(self, key_id: str, day: str, limit: int) -> int | None:
        if limit <= 0:
            return None
        with self.atomic():  # one conditional upsert: atomic by itself
            row = self._one(
                "INSERT INTO mcp_daily_calls (key_id, day, calls) VALUES (%s, %s, 1)"
                " ON CONFLICT (key_id, day) DO UPDATE SET calls = mcp_daily_calls.calls + 1"
                " WHERE mcp_daily_calls.calls < %s RETURNING calls",
                (key_id, day, limit),
            )
        return None if row is None else int(row[0])

    def daily_calls(self, key_id: str, day: str) -> int:
        row = self._one("SELECT calls FROM mcp_daily_calls WHERE key_id = %s AND day = %s", (key_id, day))
        return 0 if row is None else int(row[0])

    # operation budgets --------------------------------------------------------------------
    def take_operation_call(self, key_id: str, month: str, operation: str, limit: int) -> int | None:
        if limit <= 0:
            return None
        with self.atomic():  # one conditional upsert: atomic by itself
            row = self._one(
                "INSERT INTO wm_operation_calls (key_id, month, operation, calls) VALUES (%s, %s, %s, 1)"
                " ON CONFLICT (key_id, month, operation) DO UPDATE SET calls = wm_operation_calls.calls + 1"
                " WHERE wm_operation_calls.calls < %s RETURNING calls",
                (key_id, month, operation, limit),
            )
        return None if row is None else int(row[0])

    def operation_calls(self, key_id: str, month: str) -> dict[str, int]:
        rows = self._all(
            "SELECT operation, calls FROM wm_operation_calls WHERE key_id = %s AND month = %s ORDER BY operation",
            (key_id, month),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # idempotency ----------------------------------------------------------------------------
    def idempotency_record(self, account_id: str, key: str) -> IdempotencyRecord | None:
        row = self._one(
            "SELECT account_id, idempotency_key, fingerprint, token, reserved_at, status, response, finished_at"
            " FROM wm_idempotency_keys WHERE account_id = %s AND idempotency_key = %s",
            (account_id, key),
        )
        if row is None:
            return None
        data = dict(row)
        data["key"] = data.pop("idempotency_key")
        return IdempotencyRecord(**data)

    def reserve_idempotency(self, record: IdempotencyRecord) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO wm_idempotency_keys (account_id, idempotency_key, fingerprint, token, reserved_at)"
                " VALUES (%s,%s,%s,%s,%s) ON CONFLICT (account_id, idempotency_key) DO UPDATE SET"
                " fingerprint = excluded.fingerprint, token = excluded.token, reserved_at = excluded.reserved_at,"
                " status = NULL, response = NULL, finished_at = NULL",
                (record.account_id, record.key, record.fingerprint, record.token, record.reserved_at),
            )

    def finish_idempotency(
        self, account_id: str, key: str, token: str, *, status: int, response: str, now: int
    ) -> bool:
        return self._changed(
            "UPDATE wm_idempotency_keys SET status = %s, response = %s, finished_at = %s"
            " WHERE account_id = %s AND idempotency_key = %s AND token = %s AND finished_at IS NULL",
            (status, response, now, account_id, key, token),
        )

    def release_idempotency(self, account_id: str, key: str, token: str) -> None:
        self._changed(
            "DELETE FROM wm_idempotency_keys WHERE account_id = %s AND idempotency_key = %s AND token = %s"
            " AND finished_at IS NULL",
            (account_id, key, token),
        )


_SESSION_COLUMNS = "token_hash, account_id, key_id, csrf_token, created_at, expires_at, last_seen_at, user_agent"


class PostgresSessionStore:
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
        with self.db.savepoint():
            try:
                self.db.execute(
                    f"INSERT INTO wm_sessions ({_SESSION_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                    (token_hash, account_id, key_id, csrf_token, now, expires_at, now, user_agent),
                )
            except pg.UniqueViolation as exc:
                raise Conflict("a session with this token exists") from exc
        return session

    def session_by_token(self, token_hash: str) -> Session | None:
        row = self.db.one(f"SELECT {_SESSION_COLUMNS} FROM wm_sessions WHERE token_hash = %s", (token_hash,))
        return None if row is None else Session(**dict(row))

    def touch_session(self, token_hash: str, *, now: int) -> None:
        self.db.execute("UPDATE wm_sessions SET last_seen_at = %s WHERE token_hash = %s", (now, token_hash))

    def delete_session(self, token_hash: str) -> bool:
        with self.db.transaction():
            return self.db.rowcount("DELETE FROM wm_sessions WHERE token_hash = %s", (token_hash,)) > 0

    def delete_expired_sessions(self, *, now: int) -> int:
        with self.db.transaction():
            return self.db.rowcount("DELETE FROM wm_sessions WHERE expires_at <= %s", (now,))

    def account_sessions(self, account_id: str) -> list[Session]:
        rows = self.db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM wm_sessions WHERE account_id = %s"
            ' ORDER BY created_at DESC, token_hash COLLATE "C"',
            (account_id,),
        )
        return [Session(**dict(r)) for r in rows]


class PostgresUsageStore:
    """Calls per account per UTC day (``wm_daily_usage``)."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def count_usage(self, account_id: str, day: str, *, api_calls: int = 0, mcp_calls: int = 0) -> None:
        with self.db.transaction(exclusive=False):  # one upsert: atomic by itself
            self.db.execute(
                "INSERT INTO wm_daily_usage (account_id, day, api_calls, mcp_calls) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (account_id, day) DO UPDATE"
                " SET api_calls = wm_daily_usage.api_calls + excluded.api_calls,"
                " mcp_calls = wm_daily_usage.mcp_calls + excluded.mcp_calls",
                (account_id, day, api_calls, mcp_calls),
            )

    def daily_usage(self, account_ids: Sequence[str], since: str) -> list[DailyUsage]:
        if not account_ids:
            return []
        rows = self.db.execute(
            "SELECT day, sum(api_calls), sum(mcp_calls) FROM wm_daily_usage"
            " WHERE account_id = ANY(%s::text[]) AND day >= %s GROUP BY day ORDER BY day",
            (list(account_ids), since),
        )
        return [DailyUsage(r[0], int(r[1]), int(r[2])) for r in rows]
