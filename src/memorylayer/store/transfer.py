"""Copy one MemoryLayer database into another (SQLite to PostgreSQL, or back): ``memorylayer migrate-store``.

Accounts, keys, containers, caches, sign-in state, counters, memories with their vectors and index
terms, history, the recall log, and the package registry with its tarballs are copied in batches, each one
transaction on the target. A copy that stops half-way is resumed by running it again: rows already
in the target (by primary key, or by memory id) are skipped. Afterwards both databases are compared
table by table, by row count and by a SHA-256 of their rows in a fixed order, and every tarball by
its SHA-512; any difference is an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IntegrityError, InvalidRequest, NotFound
from ..types import MemoryRecord
from .base import Backend
from .tarballs import TarballStore

#: Rows per target transaction.
BATCH = 500

#: Tables copied row for row (the same columns on both backends), parents before children.
TABLES: list[tuple[str, str, str]] = [
    (
        "wm_accounts",
        "id, email, name, metadata, parent_account_id, plan_tier, plan_status, memory_limit, monthly_api_call_limit,"
        " api_calls_this_period, current_period_start, current_period_end, extraction_prompt, created_at",
        "parent_account_id IS NOT NULL, created_at, id",
    ),
    (
        "wm_api_keys",
        "id, account_id, key_hash, key_prefix, name, scopes, expires_at, issued_to, revoked_at, parent_key_id,"
        " created_at, last_used_at",
        "created_at, id",
    ),
    (
        "wm_caches",
        "id, token_hash, claim_token_hash, ip_address, ttl_seconds, expires_at, claimed_by_account_id, claimed_at,"
        " created_at",
        "id",
    ),
    ("wm_cache_entries", "cache_id, key, value, created_at, updated_at", "cache_id, key"),
    (
        "wm_auth_codes",
        "id, email, code_hash, ip_address, created_at, expires_at, attempts, locked_until, used_at",
        "created_at, id",
    ),
    ("wm_sign_in_failures", "email, count, first_at, locked_until", "email"),
    (
        "wm_idempotency_keys",
        "account_id, idempotency_key, fingerprint, token, reserved_at, status, response, finished_at",
        "account_id, idempotency_key",
    ),
    ("mcp_daily_calls", "key_id, day, calls", "key_id, day"),
    ("wm_operation_calls", "key_id, month, operation, calls", "key_id, month, operation"),
    (
        "wm_sessions",
        "token_hash, account_id, key_id, csrf_token, created_at, expires_at, last_seen_at, user_agent",
        "token_hash",
    ),
    ("wm_daily_usage", "account_id, day, api_calls, mcp_calls", "account_id, day"),
    ("scopes", "account, scope, created_at", "account, scope"),
    # The package registry (server side), then what `memorylayer add` installed here (client side).
    ("reg_users", "account_id, username, created_at", "account_id"),
    ("reg_orgs", "slug, display_name, created_at", "slug"),
    ("reg_org_members", "slug, account_id, role", "slug, account_id"),
    (
        "reg_packages",
        "name, scope, owner_account_id, description, keywords, private, created_at, updated_at",
        "name",
    ),
    (
        "reg_versions",
        "package, version, integrity, size, memory_count, manifest, published_by, published_at, yanked_at,"
        " yank_reason, deprecated",
        "package, version",
    ),
    ("reg_dist_tags", "package, tag, version", "package, tag"),
    ("reg_collaborators", "package, account_id, created_at", "package, account_id"),
    (
        "reg_share_links",
        "id, token_hash, package, created_by, created_at, expires_at, max_uses, uses, revoked_at",
        "id",
    ),
    ("reg_share_claims", "claim_hash, token_hash, created_at", "claim_hash"),
    (
        "reg_installs",
        "account, scope, package, version, integrity, installed_at, memory_ids",
        "account, scope, package",
    ),
    (
        "sync_blobs",
        "account_id, namespace, digest, size, memory_count, pushed_at",
        "account_id, namespace",
    ),
]
_MEMORY_COLUMNS = (
    "rowid, id, account, scope, key, value, metadata, importance, source, status, created_at, updated_at,"
    " last_recalled_at, recall_count, content_hash, superseded_by, expires_at, valid_from, valid_to"
)
#: The recall log (access history event by event: consolidate's activation and co-recall).
_RECALL_COLUMNS = "account, scope, recall_id, memory_id, at"
_LINK_COLUMNS = "account, scope, source_id, target_id, kind, weight, label, created_at"
_HISTORY_COLUMNS = (
    "account, memory_id, scope, key, value, metadata, importance, source, event, replaced_at, replaced_by,"
    " valid_from, valid_to"
)


@dataclass
class TransferReport:
    """What one run copied (``copied``: new rows per table) and the verified counts of both sides."""

    source: str
    target: str
    copied: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class _Raw:
    """Plain SQL on either backend's database (``?`` placeholders), outside the stores' protocols."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.database: Any = getattr(backend, "database")  # noqa: B009  (both backends keep one)
        self.postgres = not hasattr(self.database, "conn")

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            return [tuple(r) for r in self.database.execute(statement.replace("?", "%s"), list(params))]
        return [tuple(r) for r in self.database.conn.execute(statement, tuple(params)).fetchall()]

    def insert_ignoring(self, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns.split(",")))
        verb, tail = ("INSERT", " ON CONFLICT DO NOTHING") if self.postgres else ("INSERT OR IGNORE", "")
        for row in rows:
            self.rows(f"{verb} INTO {table} ({columns}) VALUES ({marks}){tail}", row)

    def vectors(self, rowids: Sequence[int]) -> dict[int, tuple[str, np.ndarray]]:
        column, key = ("embedding", "memory_rowid") if self.postgres else ("vector", "memory_rowid")
        found: dict[int, tuple[str, np.ndarray]] = {}
        for chunk in _chunks(list(rowids)):
            marks = ",".join("?" * len(chunk))
            for rowid, model, vector in self.rows(
                f"SELECT {key}, model, {column} FROM memory_vectors WHERE {key} IN ({marks})", chunk
            ):
                found[int(rowid)] = (str(model), _array(vector))
        return found

    def terms(self, rowids: Sequence[int]) -> dict[int, str]:
        key = "memory_rowid" if self.postgres else "rowid"
        found: dict[int, str] = {}
        for chunk in _chunks(list(rowids)):
            marks = ",".join("?" * len(chunk))
            for rowid, terms in self.rows(f"SELECT {key}, terms FROM memory_terms WHERE {key} IN ({marks})", chunk):
                found[int(rowid)] = str(terms)
        return found


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _array(vector: Any) -> np.ndarray:
    if isinstance(vector, bytes | memoryview):
        return np.frombuffer(bytes(vector), dtype=np.float32).copy()
    if hasattr(vector, "to_numpy"):
        vector = vector.to_numpy()
    return np.asarray(vector, dtype=np.float32)


def _record(row: tuple[Any, ...], model: str | None) -> MemoryRecord:
    (_, memory_id, account, scope, key, value, metadata, importance, source, status, created, updated, recalled,
     recalls, content_hash, superseded_by, expires_at, valid_from, valid_to) = row  # fmt: skip
    return MemoryRecord(
        id=memory_id,
        scope=scope,
        key=key,
        value=value,
        metadata=json.loads(metadata),
        importance=float(importance),
        source=source,
        status=status,
        created_at=int(created),
        updated_at=int(updated),
        last_recalled_at=None if recalled is None else int(recalled),
        recall_count=int(recalls),
        content_hash=content_hash,
        model=model,
        superseded_by=superseded_by,
        account=account,
        expires_at=None if expires_at is None else int(expires_at),
        valid_from=None if valid_from is None else int(valid_from),
        valid_to=None if valid_to is None else int(valid_to),
    )


def transfer(source: Backend, target: Backend, *, progress: Callable[[int, int], None] | None = None) -> TransferReport:
    """Copy everything of ``source`` that ``target`` lacks, then verify both hold the same.

    ``progress(done, total)`` follows the memories.

    Raises:
        InvalidRequest: source and target are the same database.
        IntegrityError: after copying, a table differs (its count or its hash); the message names it.
        StorageError: either database failed.
    """
    if source.url == target.url:
        raise InvalidRequest(f"--from and --to are the same database ({source.url})")
    src, dst = _Raw(source), _Raw(target)
    report = TransferReport(source=source.url, target=target.url)
    for table, columns, order in TABLES:
        present = {tuple(r) for r in dst.rows(f"SELECT {_key_columns(table)} FROM {table}")}
        rows = [r for r in src.rows(f"SELECT {columns} FROM {table} ORDER BY {order}") if _key(table, r) not in present]
        for chunk in _chunks(rows):
            with target.transaction():
                dst.insert_ignoring(table, columns, chunk)
        report.copied[table] = len(rows)
    report.copied["memories"] = _copy_memories(src, dst, progress)
    report.copied["memory_history"] = _copy_by_memory(src, dst, "memory_history", _HISTORY_COLUMNS, "id")
    report.copied["memory_recalls"] = _copy_by_memory(src, dst, "memory_recalls", _RECALL_COLUMNS, "at, recall_id")
    report.copied["memory_links"] = _copy_links(src, dst)
    report.copied["tarballs"] = _copy_tarballs(src, dst)
    report.counts = verify(source, target)
    return report


#: The columns that identify a row of each copied table (its primary key).
_KEYS = {
    "wm_cache_entries": "cache_id, key",
    "wm_sign_in_failures": "email",
    "wm_idempotency_keys": "account_id, idempotency_key",
    "mcp_daily_calls": "key_id, day",
    "wm_operation_calls": "key_id, month, operation",
    "wm_sessions": "token_hash",
    "wm_daily_usage": "account_id, day",
    "scopes": "account, scope",
    "reg_users": "account_id",
    "reg_orgs": "slug",
    "reg_org_members": "slug, account_id",
    "reg_packages": "name",
    "reg_versions": "package, version",
    "reg_dist_tags": "package, tag",
    "reg_collaborators": "package, account_id",
    "reg_share_claims": "claim_hash",
    "reg_installs": "account, scope, package",
    "sync_blobs": "account_id, namespace",
}


def _key_columns(table: str) -> str:
    return _KEYS.get(table, "id")


def _key(table: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    columns = [c.strip() for c in dict((t, c) for t, c, _ in TABLES)[table].split(",")]
    return tuple(row[columns.index(name.strip())] for name in _key_columns(table).split(","))


def _copy_memories(src: _Raw, dst: _Raw, progress: Callable[[int, int], None] | None) -> int:
    present = {r[0] for r in dst.rows("SELECT id FROM memories")}
    rows = [r for r in src.rows(f"SELECT {_MEMORY_COLUMNS} FROM memories ORDER BY rowid") if r[1] not in present]
    done = 0
    for chunk in _chunks(rows):
        rowids = [int(r[0]) for r in chunk]
        vectors, terms = src.vectors(rowids), src.terms(rowids)
        found = [vectors.get(int(row[0]), (None, None)) for row in chunk]
        dst.backend.memories.insert_many(
            [_record(row, model) for row, (model, _) in zip(chunk, found, strict=True)],
            [vector for _, vector in found],
            [terms.get(int(row[0]), "").split() for row in chunk],
        )
        done += len(chunk)
        if progress is not None:
            progress(done, len(rows))
    return len(rows)


def _copy_by_memory(src: _Raw, dst: _Raw, table: str, columns: str, order: str) -> int:
    # History and the recall log have no natural key: a memory's rows are copied together, unless
    # the target has some.
    present = {r[0] for r in dst.rows(f"SELECT DISTINCT memory_id FROM {table}")}
    at = [c.strip() for c in columns.split(",")].index("memory_id")
    rows = [r for r in src.rows(f"SELECT {columns} FROM {table} ORDER BY {order}") if r[at] not in present]
    for chunk in _chunks(rows):
        with dst.backend.transaction():
            dst.insert_ignoring(table, columns, chunk)
    return len(rows)


def _copy_links(src: _Raw, dst: _Raw) -> int:
    # After the memories, which both ends reference; a link is its (source, target, kind).
    present = {tuple(r) for r in dst.rows("SELECT source_id, target_id, kind FROM memory_links")}
    rows = [
        r
        for r in src.rows(f"SELECT {_LINK_COLUMNS} FROM memory_links ORDER BY source_id, target_id, kind")
        if (r[2], r[3], r[4]) not in present
    ]
    for chunk in _chunks(rows):
        with dst.backend.transaction():
            dst.insert_ignoring("memory_links", _LINK_COLUMNS, chunk)
    return len(rows)


def _tarball_digests(raw: _Raw) -> list[str]:
    """SHA-512 (hex) of every published version's tarball, from its ``sha512-<base64>`` integrity."""
    found = {
        base64.b64decode(str(r[0]).removeprefix("sha512-")).hex()
        for r in raw.rows("SELECT integrity FROM reg_versions")
    }
    found.update(str(r[0]) for r in raw.rows("SELECT digest FROM sync_blobs"))  # sync blobs share the store
    return sorted(found)


def _tarballs(raw: _Raw, scratch: Path) -> TarballStore:
    # A SQLite database's tarballs are under its home (the file's folder); PostgreSQL's are in it.
    home = Path(raw.database.path).parent if not raw.postgres else scratch
    return raw.backend.tarballs(home)


def _copy_tarballs(src: _Raw, dst: _Raw) -> int:
    copied = 0
    with tempfile.TemporaryDirectory(prefix="memorylayer-transfer-") as scratch:
        source, target = _tarballs(src, Path(scratch) / "source"), _tarballs(dst, Path(scratch) / "target")
        for digest in _tarball_digests(src):
            try:
                target.path(digest)
                continue
            except NotFound:
                pass
            upload = target.scratch() / f"{digest[:32]}.tgz"
            shutil.copyfile(source.path(digest), upload)
            target.put(digest, upload)
            copied += 1
    return copied


def _tarballs_match(src: _Raw, dst: _Raw) -> tuple[int, bool]:
    """(how many tarballs the source has, whether the target holds each with the same bytes)."""
    digests = _tarball_digests(src)
    with tempfile.TemporaryDirectory(prefix="memorylayer-verify-") as scratch:
        target = _tarballs(dst, Path(scratch))
        for digest in digests:
            try:
                with target.path(digest).open("rb") as fp:
                    if hashlib.file_digest(fp, "sha512").hexdigest() != digest:
                        return len(digests), False
            except (NotFound, IntegrityError):
                return len(digests), False
    return len(digests), True


def _digest(rows: Sequence[tuple[Any, ...]]) -> str:
    """A SHA-256 of rows whatever their order or the backend's number types."""
    lines = sorted(json.dumps([_plain(v) for v in row], ensure_ascii=False) for row in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.asarray(value, dtype=np.float32).tobytes()).hexdigest()
    return value


def _snapshot(raw: _Raw) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for table, columns, _ in TABLES:
        rows = raw.rows(f"SELECT {columns} FROM {table}")
        found[table] = (len(rows), _digest(rows))
    memories = raw.rows(f"SELECT {_MEMORY_COLUMNS} FROM memories")
    rowids = [int(r[0]) for r in memories]
    vectors, terms = raw.vectors(rowids), raw.terms(rowids)
    # Row numbers are each database's own; a memory is its id and its content.
    found["memories"] = (len(memories), _digest([r[1:] for r in memories]))
    found["memory_vectors"] = (
        len(vectors),
        _digest([(r[1], *vectors[int(r[0])]) for r in memories if int(r[0]) in vectors]),
    )
    found["memory_terms"] = (len(terms), _digest([(r[1], terms[int(r[0])]) for r in memories if int(r[0]) in terms]))
    for table, columns in (
        ("memory_history", _HISTORY_COLUMNS),
        ("memory_recalls", _RECALL_COLUMNS),
        ("memory_links", _LINK_COLUMNS),
    ):
        rows = raw.rows(f"SELECT {columns} FROM {table}")
        found[table] = (len(rows), _digest(rows))
    return found


def verify(source: Backend, target: Backend) -> dict[str, int]:
    """Row counts per table once both databases hold the same rows.

    Raises:
        IntegrityError: a table's count or hash differs between them.
    """
    ours, theirs = _snapshot(_Raw(source)), _snapshot(_Raw(target))
    differing = [table for table in ours if ours[table] != theirs[table]]
    tarballs, same = _tarballs_match(_Raw(source), _Raw(target))
    ours["tarballs"] = theirs["tarballs"] = (tarballs, "")
    if not same:
        differing.append("tarballs")
    if differing:
        shown = ", ".join(f"{t} ({ours[t][0]} rows in the source, {theirs[t][0]} in the target)" for t in differing)
        raise IntegrityError(
            f"the copy differs from {source.url}: {shown}. Run migrate-store again to resume it; "
            "a target that was written to meanwhile needs a fresh, empty target."
        )
    return {table: count for table, (count, _) in ours.items()}
