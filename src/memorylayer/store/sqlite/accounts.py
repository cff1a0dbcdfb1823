"""SQLite implementation of :class:`~memorylayer.store.accounts.AccountStore`.

It shares the memory tables' database file; its tables carry a ``wm_`` prefix. Their migrations are
in the file's one list (:mod:`.migrations`).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...errors import Conflict, InternalError
from ..accounts import Account, ApiKey, AuthCode, Cache, CacheEntry, IdempotencyRecord, MeterResult, SignInFailures
from .db import Database
from .faults import translating


def _account(row: sqlite3.Row) -> Account:
    data = dict(row)
    data["metadata"] = json.loads(data["metadata"] or "{}")
    return Account(**data)


def _key(row: sqlite3.Row) -> ApiKey:
    data = dict(row)
    data.pop("key_hash", None)
    return ApiKey(**data)


_CODE_COLUMNS = "id, email, code_hash, created_at, expires_at, used_at, ip_address"


def _cache(row: sqlite3.Row) -> Cache:
    data = dict(row)
    data.pop("token_hash", None)
    data.pop("claim_token_hash", None)
    return Cache(**data)


@translating(lambda store: (store.db.path, store.db.busy_timeout_ms))
class SqliteAccountStore:
    """Accounts, keys, caches and codes in the shared SQLite file."""

    def __init__(self, database: Database) -> None:
        self.db = database

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        with self.db.transaction() as conn:
            yield conn

    def lock(self, name: str) -> None:
        # BEGIN IMMEDIATE took the file's write lock: no other writer runs until this transaction ends.
        if not self.db.conn.in_transaction:
            raise InternalError(f"lock({name!r}) outside a transaction")

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.conn.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.db.conn.execute(sql, params).fetchall())

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
        with self.atomic() as conn:
            try:
                conn.execute(
                    "INSERT INTO wm_accounts (id, email, name, metadata, parent_account_id, plan_tier, memory_limit,"
                    " monthly_api_call_limit, current_period_start, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
            except sqlite3.IntegrityError as exc:
                if "wm_accounts.email" in str(exc):
                    raise Conflict(f"an account with email {email} already exists") from exc
                if "wm_accounts.parent_account_id, wm_accounts.name" in str(exc):
                    raise Conflict(f"a container named {name!r} already exists") from exc
                raise
        account = self.get_account(account_id)
        assert account is not None
        return account

    def get_account(self, account_id: str) -> Account | None:
        row = self._one("SELECT * FROM wm_accounts WHERE id = ?", (account_id,))
        return _account(row) if row else None

    def account_by_email(self, email: str) -> Account | None:
        row = self._one("SELECT * FROM wm_accounts WHERE email = ?", (email,))
        return _account(row) if row else None

    def list_accounts(self) -> list[Account]:
        return [_account(r) for r in self._all("SELECT * FROM wm_accounts ORDER BY created_at, id")]

    def containers(self, parent_account_id: str) -> list[Account]:
        rows = self._all(
            "SELECT * FROM wm_accounts WHERE parent_account_id = ? ORDER BY created_at, id", (parent_account_id,)
        )
        return [_account(r) for r in rows]

    def container_by_name(self, parent_account_id: str, name: str) -> Account | None:
        row = self._one("SELECT * FROM wm_accounts WHERE parent_account_id = ? AND name = ?", (parent_account_id, name))
        return _account(row) if row else None

    def set_plan(
        self, account_id: str, *, plan_tier: str, memory_limit: int, monthly_api_call_limit: int
    ) -> Account | None:
        with self.atomic() as conn:
            conn.execute(
                "UPDATE wm_accounts SET plan_tier = ?, memory_limit = ?, monthly_api_call_limit = ? WHERE id = ?",
                (plan_tier, memory_limit, monthly_api_call_limit, account_id),
            )
        return self.get_account(account_id)

    def set_extraction_prompt(self, account_id: str, prompt: str | None) -> None:
        with self.atomic() as conn:
            conn.execute("UPDATE wm_accounts SET extraction_prompt = ? WHERE id = ?", (prompt, account_id))

    def delete_account(self, account_id: str) -> bool:
        with self.atomic() as conn:
            return conn.execute("DELETE FROM wm_accounts WHERE id = ?", (account_id,)).rowcount > 0

    def meter(self, account_id: str, *, now: int, window_ms: int, limit: int) -> MeterResult:
        with self.atomic() as conn:
            row = conn.execute(
                "SELECT api_calls_this_period, current_period_start FROM wm_accounts WHERE id = ?", (account_id,)
            ).fetchone()
            count, start = int(row[0]), int(row[1])
            if now >= start + window_ms:
                count, start = 0, now
            if count >= limit:
                return MeterResult(False, count, start)
            conn.execute(
                "UPDATE wm_accounts SET api_calls_this_period = ?, current_period_start = ? WHERE id = ?",
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
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO wm_api_keys (id, account_id, key_hash, key_prefix, name, scopes, expires_at, issued_to,"
                " parent_key_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key_id, account_id, key_hash, key_prefix, name, scopes, expires_at, issued_to, parent_key_id, now),
            )
        key = self.get_key(key_id)
        assert key is not None
        return key

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        row = self._one(
            "SELECT * FROM wm_api_keys WHERE key_hash = ? AND revoked_at IS NULL ORDER BY created_at LIMIT 1",
            (key_hash,),
        )
        return _key(row) if row else None

    def get_key(self, key_id: str) -> ApiKey | None:
        row = self._one("SELECT * FROM wm_api_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    def list_keys(self, account_id: str) -> list[ApiKey]:
        rows = self._all("SELECT * FROM wm_api_keys WHERE account_id = ? ORDER BY created_at, id", (account_id,))
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, *, now: int) -> bool:
        with self.atomic() as conn:
            cur = conn.execute(
                "UPDATE wm_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, key_id)
            )
            return cur.rowcount > 0

    def touch_key(self, key_id: str, *, now: int) -> None:
        with self.atomic() as conn:
            conn.execute("UPDATE wm_api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))

    def count_active_keys(self, account_id: str) -> int:
        row = self._one("SELECT count(*) FROM wm_api_keys WHERE account_id = ? AND revoked_at IS NULL", (account_id,))
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
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO wm_caches (id, token_hash, claim_token_hash, ip_address, ttl_seconds, expires_at,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                (cache_id, token_hash, claim_token_hash, ip_address, ttl_seconds, now + ttl_seconds * 1000, now),
            )
        row = self._one("SELECT * FROM wm_caches WHERE id = ?", (cache_id,))
        assert row is not None
        return _cache(row)

    def caches_created_since(self, ip_address: str, since: int) -> list[int]:
        rows = self._all(
            "SELECT created_at FROM wm_caches WHERE ip_address = ? AND created_at > ? ORDER BY created_at",
            (ip_address, since),
        )
        return [int(r[0]) for r in rows]

    def get_cache(self, cache_id: str) -> Cache | None:
        row = self._one("SELECT * FROM wm_caches WHERE id = ?", (cache_id,))
        return _cache(row) if row else None

    def cache_by_token(self, token_hash: str) -> Cache | None:
        row = self._one("SELECT * FROM wm_caches WHERE token_hash = ?", (token_hash,))
        return _cache(row) if row else None

    def cache_by_claim_token(self, claim_token_hash: str) -> Cache | None:
        row = self._one("SELECT * FROM wm_caches WHERE claim_token_hash = ?", (claim_token_hash,))
        return _cache(row) if row else None

    def set_entry(self, cache_id: str, key: str, value: str, *, now: int, max_entries: int) -> CacheEntry | None:
        """Upsert an entry; None when ``key`` is new and the cache already holds ``max_entries``."""
        with self.atomic() as conn:
            exists = conn.execute(
                "SELECT 1 FROM wm_cache_entries WHERE cache_id = ? AND key = ?", (cache_id, key)
            ).fetchone()
            if not exists:
                count = conn.execute("SELECT count(*) FROM wm_cache_entries WHERE cache_id = ?", (cache_id,)).fetchone()
                if int(count[0]) >= max_entries:
                    return None
            conn.execute(
                "INSERT INTO wm_cache_entries (cache_id, key, value, created_at, updated_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (cache_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (cache_id, key, value, now, now),
            )
        return self.get_entry(cache_id, key)

    def get_entry(self, cache_id: str, key: str) -> CacheEntry | None:
        row = self._one(
            "SELECT key, value, created_at, updated_at FROM wm_cache_entries WHERE cache_id = ? AND key = ?",
            (cache_id, key),
        )
        return CacheEntry(**dict(row)) if row else None

    def delete_entry(self, cache_id: str, key: str) -> bool:
        with self.atomic() as conn:
            cur = conn.execute("DELETE FROM wm_cache_entries WHERE cache_id = ? AND key = ?", (cache_id, key))
            return cur.rowcount > 0

    def list_entries(self, cache_id: str) -> list[CacheEntry]:
        rows = self._all(
            "SELECT key, value, created_at, updated_at FROM wm_cache_entries WHERE cache_id = ? ORDER BY key",
            (cache_id,),
        )
        return [CacheEntry(**dict(r)) for r in rows]

    def mark_claimed(self, cache_id: str, account_id: str, *, now: int) -> bool:
        with self.atomic() as conn:
            cur = conn.execute(
                "UPDATE wm_caches SET claimed_by_account_id = ?, claimed_at = ? WHERE id = ? AND claimed_at IS NULL",
                (account_id, now, cache_id),
            )
            return cur.rowcount > 0

    def release_claim(self, cache_id: str) -> None:
        with self.atomic() as conn:
            conn.execute(
                "UPDATE wm_caches SET claimed_by_account_id = NULL, claimed_at = NULL WHERE id = ?", (cache_id,)
            )

    # sign-in codes --------------------------------------------------------------------------
    def add_code(self, *, email: str, code_hash: str, ip_address: str | None, now: int, expires_at: int) -> AuthCode:
        code_id = str(uuid.uuid4())
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO wm_auth_codes (id, email, code_hash, ip_address, created_at, expires_at)"
                " VALUES (?,?,?,?,?,?)",
                (code_id, email, code_hash, ip_address, now, expires_at),
            )
        return AuthCode(code_id, email, code_hash, now, expires_at, ip_address=ip_address)

    def codes_since(self, *, since: int, email: str | None = None, ip_address: str | None = None) -> list[int]:
        column, value = ("email", email) if email is not None else ("ip_address", ip_address)
        rows = self._all(
            f"SELECT created_at FROM wm_auth_codes WHERE {column} = ? AND created_at > ? ORDER BY created_at",
            (value, since),
        )
        return [int(r[0]) for r in rows]

    def latest_code(self, email: str, *, now: int) -> AuthCode | None:
        row = self._one(
            f"SELECT {_CODE_COLUMNS} FROM wm_auth_codes WHERE email = ? AND used_at IS NULL AND expires_at > ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (email, now),
        )
        return AuthCode(**dict(row)) if row else None

    def use_code(self, code_id: str, *, now: int) -> bool:
        with self.atomic() as conn:
            cur = conn.execute("UPDATE wm_auth_codes SET used_at = ? WHERE id = ? AND used_at IS NULL", (now, code_id))
            return cur.rowcount > 0

    def sign_in_failures(self, email: str) -> SignInFailures | None:
        row = self._one("SELECT * FROM wm_sign_in_failures WHERE email = ?", (email,))
        return SignInFailures(**dict(row)) if row else None

    def set_sign_in_failures(self, failures: SignInFailures) -> None:
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO wm_sign_in_failures (email, count, first_at, locked_until) VALUES (?,?,?,?)"
                " ON CONFLICT (email) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,"
                " locked_until = excluded.locked_until",
                (failures.email, failures.count, failures.first_at, failures.locked_until),
            )

    def clear_sign_in_failures(self, email: str) -> None:
        with self.atomic() as conn:
            conn.execute("DELETE FROM wm_sign_in_failures WHERE email = ?", (email,))

    # MCP daily calls ------------------------------------------------------------------------
    def take_daily_call(self, key_id: str, day: str, limit: int) -> int | None:
        if limit <= 0:
            return None
        with self.atomic() as conn:
            row = conn.execute(
                "INSERT INTO mcp_daily_calls (key_id, day, calls) VALUES (?, ?, 1) "
                "ON CONFLICT (key_id, day) DO UPDATE SET calls = calls + 1 WHERE calls < ? "
                "RETURNING calls",
                (key_id, day, limit),
            ).fetchone()
        return None if row is None else int(row[0])

    def daily_calls(self, key_id: str, day: str) -> int:
        row = self._one("SELECT calls FROM mcp_daily_calls WHERE key_id = ? AND day = ?", (key_id, day))
        return 0 if row is None else int(row[0])

    # operation budgets --------------------------------------------------------------------
    def take_operation_call(self, key_id: str, month: str, operation: str, limit: int) -> int | None:
        if limit <= 0:
            return None
        with self.atomic() as conn:
            row = conn.execute(
                "INSERT INTO wm_operation_calls (key_id, month, operation, calls) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (key_id, month, operation) DO UPDATE SET calls = calls + 1 WHERE calls < ? "
                "RETURNING calls",
                (key_id, month, operation, limit),
            ).fetchone()
        return None if row is None else int(row[0])

    def operation_calls(self, key_id: str, month: str) -> dict[str, int]:
        rows = self._all(
            "SELECT operation, calls FROM wm_operation_calls WHERE key_id = ? AND month = ? ORDER BY operation",
            (key_id, month),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # idempotency ----------------------------------------------------------------------------
    def idempotency_record(self, account_id: str, key: str) -> IdempotencyRecord | None:
        row = self._one(
            "SELECT * FROM wm_idempotency_keys WHERE account_id = ? AND idempotency_key = ?", (account_id, key)
        )
        if row is None:
            return None
        data = dict(row)
        data["key"] = data.pop("idempotency_key")
        return IdempotencyRecord(**data)

    def reserve_idempotency(self, record: IdempotencyRecord) -> None:
        with self.atomic() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO wm_idempotency_keys (account_id, idempotency_key, fingerprint, token,"
                " reserved_at) VALUES (?,?,?,?,?)",
                (record.account_id, record.key, record.fingerprint, record.token, record.reserved_at),
            )

    def finish_idempotency(
        self, account_id: str, key: str, token: str, *, status: int, response: str, now: int
    ) -> bool:
        with self.atomic() as conn:
            cur = conn.execute(
                "UPDATE wm_idempotency_keys SET status = ?, response = ?, finished_at = ?"
                " WHERE account_id = ? AND idempotency_key = ? AND token = ? AND finished_at IS NULL",
                (status, response, now, account_id, key, token),
            )
            return cur.rowcount > 0

    def release_idempotency(self, account_id: str, key: str, token: str) -> None:
        with self.atomic() as conn:
            conn.execute(
                "DELETE FROM wm_idempotency_keys WHERE account_id = ? AND idempotency_key = ? AND token = ?"
                " AND finished_at IS NULL",
                (account_id, key, token),
            )
