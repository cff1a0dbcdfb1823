"""Named, append-only migrations of the memory tables. Never edit a released one."""

from .db import Migration

MEMORY_MIGRATIONS = [
    Migration(
        "m001_memories",
        """
        CREATE TABLE memories (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            key TEXT,
            value TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            importance REAL NOT NULL DEFAULT 0.5,
            source TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'ready',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            last_recalled_at INTEGER,
            recall_count INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            superseded_by TEXT,
            seq INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX memories_live_key ON memories (account, scope, key)
            WHERE key IS NOT NULL AND superseded_by IS NULL;
        CREATE INDEX memories_scope_seq ON memories (account, scope, seq);
        CREATE INDEX memories_hash ON memories (account, scope, content_hash);
        CREATE INDEX memories_updated ON memories (account, updated_at, id);
        CREATE INDEX memories_created ON memories (account, created_at, id);
        CREATE TABLE scopes (
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account, scope)
        );
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters (name, value) VALUES ('seq', 0);
        """,
    ),
    Migration(
        "m002_vectors",
        """
        CREATE TABLE memory_vectors (
            memory_rowid INTEGER PRIMARY KEY REFERENCES memories (rowid) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE INDEX memory_vectors_model ON memory_vectors (model);
        -- Deleted rows leave only their row number here, so in-memory vector indexes can follow.
        CREATE TABLE memory_tombstones (
            seq INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            memory_rowid INTEGER NOT NULL
        );
        CREATE INDEX memory_tombstones_scope ON memory_tombstones (account, scope, seq);
        """,
    ),
    Migration(
        "m003_fts",
        """
        CREATE VIRTUAL TABLE memory_terms USING fts5 (terms, tokenize = 'unicode61');
        """,
    ),
    Migration(
        "m004_history",
        """
        CREATE TABLE memory_history (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            key TEXT,
            value TEXT NOT NULL,
            metadata TEXT NOT NULL,
            importance REAL NOT NULL,
            source TEXT NOT NULL,
            event TEXT NOT NULL,
            replaced_at INTEGER NOT NULL,
            replaced_by TEXT
        );
        CREATE INDEX memory_history_memory ON memory_history (memory_id);
        CREATE INDEX memory_history_key ON memory_history (account, scope, key);
        """,
    ),
    Migration(
        "m005_term_stats",
        """
        CREATE VIRTUAL TABLE memory_terms_vocab USING fts5vocab (memory_terms, 'row');
        """,
    ),
    Migration(
        "m006_document_count",
        """
        INSERT INTO counters (name, value) SELECT 'documents', count(*) FROM memory_terms;
        """,
    ),
    Migration(
        "m007_key_index",
        """
        -- remove() deletes superseded rows of a key too, which the partial unique index does not cover.
        CREATE INDEX memories_key ON memories (account, scope, key) WHERE key IS NOT NULL;
        """,
    ),
]
