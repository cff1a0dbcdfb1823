"""SQLite files made before the migration lists were merged open as they are.

Only SQLite has such files: until the merge, the memory store, the account store and the MCP HTTP
edge each applied their own list to the same file, in whatever order they were first opened. The
names they recorded are the names of the one list now, so opening applies only what a file lacks.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from store_support import ACCOUNT, put

from memorylayer.store import open_backend
from memorylayer.store.sqlite import Database, Migration, SqliteAccountStore, SqliteStore
from memorylayer.store.sqlite.migrations import MIGRATIONS

MEMORY = [m for m in MIGRATIONS if m.name.startswith("m0")]
ACCOUNTS = [m for m in MIGRATIONS if m.name.startswith("a0")]
MCP = [m for m in MIGRATIONS if m.name.startswith("mcp")]


def _applied(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]


def test_the_one_list_starts_with_the_old_lists_in_order() -> None:
    legacy = MEMORY + ACCOUNTS + MCP
    assert [m.name for m in MIGRATIONS][: len(legacy)] == [m.name for m in legacy]
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


@pytest.mark.parametrize(
    "lists",
    [
        pytest.param([MEMORY, ACCOUNTS], id="memories-then-accounts"),
        pytest.param([MEMORY, ACCOUNTS, MCP], id="memories-accounts-mcp"),
        pytest.param([ACCOUNTS, MEMORY], id="accounts-first"),
        pytest.param([MEMORY], id="memories-only"),
    ],
)
def test_a_file_made_by_the_separate_lists_opens_with_its_data(tmp_path: Path, lists: list[list[Migration]]) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    for migrations in lists:
        old.migrate(migrations)
    had = _applied(path)
    account_id = None
    if ACCOUNTS[0].name in had:
        account_id = (
            SqliteAccountStore(old)
            .create_account("old@example.com", plan_tier="free", memory_limit=10, monthly_api_call_limit=10, now=1)
            .id
        )
    _, record = put(SqliteStore(old), "written before the merge", key="k")
    old.close()

    backend = open_backend(str(path))
    try:
        assert backend.memories.get(ACCOUNT, record.id) == record
        assert backend.memories.term_stats(["before"]) == (1, {"before": 1})
        if account_id is not None:
            assert backend.accounts.get_account(account_id) is not None
        assert backend.accounts.take_daily_call("key", "2026-01-01", 2) == 1
    finally:
        backend.close()
    applied = _applied(path)
    assert applied[: len(had)] == had
    assert sorted(applied) == sorted(m.name for m in MIGRATIONS)


def test_a_file_from_before_the_document_count_counts_its_existing_memories(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    old = Database(path)
    # Today's store writes the rows, so the file also has the columns it writes (m009), which
    # leave the document count alone.
    old.migrate([m for m in MEMORY if m.name < "m006" or m.name.startswith("m009")])
    store = SqliteStore(old)
    for i in range(3):
        put(store, f"early memory {i}")
    old.close()
    backend = open_backend(str(path))
    try:
        assert backend.memories.term_stats(["early"]) == (3, {"early": 3})
    finally:
        backend.close()
