"""The one list of named, append-only migrations of a MemoryLayer SQLite file. Never edit a released one.

Memory tables first (``m…``), then the server's accounts (``a…``), the MCP daily call counts
(``mcp…``), the dashboard's sessions (``d…``), the daily usage counts (``u…``), the package registry
(``g…``) and what the derived vector index files check (``v…``). Names are what
``schema_migrations`` records, so files made before the lists were merged carry on where they were.
"""

from .db import Migration

MIGRATIONS = [
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
    Migration(
        "m008_live_scope_index",
        """
        -- Counts, scope listings and first pages read only this index (live rows of a scope, newest
        -- first) instead of visiting every row of the scope to test superseded_by.
        CREATE INDEX memories_live_scope ON memories (account, scope, updated_at, id) WHERE superseded_by IS NULL;
        """,
    ),
    Migration(
        "m009_expiry_and_validity",
        """
        -- expires_at: the memory is gone from every read at that instant and purged by a sweep.
        -- valid_from / valid_to: the interval its value holds; NULL valid_from reads as created_at,
        -- NULL valid_to as "still now". History rows keep the interval of the value they hold.
        ALTER TABLE memories ADD COLUMN expires_at INTEGER;
        ALTER TABLE memories ADD COLUMN valid_from INTEGER;
        ALTER TABLE memories ADD COLUMN valid_to INTEGER;
        CREATE INDEX memories_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;
        ALTER TABLE memory_history ADD COLUMN valid_from INTEGER;
        ALTER TABLE memory_history ADD COLUMN valid_to INTEGER;
        """,
    ),
    Migration(
        "m010_recall_log",
        """
        -- Access history event by event: one row per memory a recall returned, the rows of one recall
        -- sharing its recall_id. Consolidation reads it for ACT-R activation (when each access was)
        -- and co-recall (what was recalled together); a memory's rows go with it.
        CREATE TABLE memory_recalls (
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            recall_id TEXT NOT NULL,
            memory_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            at INTEGER NOT NULL
        );
        CREATE INDEX memory_recalls_scope ON memory_recalls (account, scope, at);
        CREATE INDEX memory_recalls_memory ON memory_recalls (memory_id);
        """,
    ),
    Migration(
        "m011_links",
        """
        -- Links between memories of one scope (weave, consolidation), which explore and ripple follow.
        -- A link goes with either of its memories; symmetric kinds are stored once (source < target).
        CREATE TABLE memory_links (
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            target_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            weight REAL NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL,
            PRIMARY KEY (source_id, target_id, kind)
        );
        CREATE INDEX memory_links_target ON memory_links (target_id);
        CREATE INDEX memory_links_scope ON memory_links (account, scope, kind);
        """,
    ),
    Migration(
        "m012_recall_log_age",
        """
        -- The sweep that keeps the recall log to limits.RECALL_LOG_DAYS finds its oldest rows by age alone.
        CREATE INDEX memory_recalls_at ON memory_recalls (at);
        """,
    ),
    Migration(
        "a001_accounts",
        """
        CREATE TABLE wm_accounts (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            parent_account_id TEXT REFERENCES wm_accounts(id) ON DELETE CASCADE,
            plan_tier TEXT NOT NULL DEFAULT 'free',
            plan_status TEXT NOT NULL DEFAULT 'active',
            memory_limit INTEGER NOT NULL,
            monthly_api_call_limit INTEGER NOT NULL,
            api_calls_this_period INTEGER NOT NULL DEFAULT 0,
            current_period_start INTEGER NOT NULL,
            current_period_end INTEGER,
            extraction_prompt TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX wm_accounts_parent ON wm_accounts(parent_account_id) WHERE parent_account_id IS NOT NULL;
        CREATE UNIQUE INDEX wm_accounts_child_name ON wm_accounts(parent_account_id, name)
            WHERE parent_account_id IS NOT NULL;
        CREATE TABLE wm_api_keys (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            key_hash TEXT NOT NULL,
            key_prefix TEXT NOT NULL,
            name TEXT,
            scopes TEXT NOT NULL,
            expires_at INTEGER,
            issued_to TEXT,
            revoked_at INTEGER,
            parent_key_id TEXT REFERENCES wm_api_keys(id) ON DELETE SET NULL,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER
        );
        CREATE INDEX wm_api_keys_hash ON wm_api_keys(key_hash);
        CREATE INDEX wm_api_keys_account ON wm_api_keys(account_id);
        CREATE TABLE wm_caches (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            claim_token_hash TEXT NOT NULL UNIQUE,
            ip_address TEXT NOT NULL,
            ttl_seconds INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            claimed_by_account_id TEXT REFERENCES wm_accounts(id) ON DELETE SET NULL,
            claimed_at INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX wm_caches_ip ON wm_caches(ip_address, created_at);
        CREATE TABLE wm_cache_entries (
            cache_id TEXT NOT NULL REFERENCES wm_caches(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (cache_id, key)
        );
        CREATE TABLE wm_auth_codes (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            ip_address TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            locked_until INTEGER,
            used_at INTEGER
        );
        CREATE INDEX wm_auth_codes_email ON wm_auth_codes(email, created_at);
        CREATE INDEX wm_auth_codes_ip ON wm_auth_codes(ip_address, created_at);
        CREATE TABLE wm_idempotency (
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            memory_ids TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, idempotency_key)
        );
        """,
    ),
    Migration(
        "mcp001_daily_calls",
        """
        CREATE TABLE IF NOT EXISTS mcp_daily_calls (
            key_id TEXT NOT NULL,
            day TEXT NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (key_id, day)
        );
        """,
    ),
    Migration(
        "d001_dashboard_sessions",
        """
        CREATE TABLE wm_sessions (
            token_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            key_id TEXT NOT NULL REFERENCES wm_api_keys(id) ON DELETE CASCADE,
            csrf_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            user_agent TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX wm_sessions_account ON wm_sessions(account_id);
        CREATE INDEX wm_sessions_expiry ON wm_sessions(expires_at);
        """,
    ),
    Migration(
        "u001_daily_usage",
        """
        CREATE TABLE wm_daily_usage (
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            api_calls INTEGER NOT NULL DEFAULT 0,
            mcp_calls INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (account_id, day)
        );
        """,
    ),
    Migration(
        "r001_sign_in_failures_and_idempotency_reservations",
        """
        -- Wrong sign-in guesses count per email, so a new code never lifts the lock.
        CREATE TABLE wm_sign_in_failures (
            email TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            locked_until INTEGER
        );
        -- Codes stored before were unkeyed SHA-256 hashes, which no keyed hash matches; they expire in
        -- minutes anyway.
        DELETE FROM wm_auth_codes;
        -- A key is reserved when its request starts and holds the exact answer once it finished.
        DROP TABLE wm_idempotency;
        CREATE TABLE wm_idempotency_keys (
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            token TEXT NOT NULL,
            reserved_at INTEGER NOT NULL,
            status INTEGER,
            response TEXT,
            finished_at INTEGER,
            PRIMARY KEY (account_id, idempotency_key)
        );
        """,
    ),
    Migration(
        "g001_registry",
        """
        -- Server side: usernames and org slugs share one namespace (a package scope).
        CREATE TABLE reg_users (
            account_id TEXT PRIMARY KEY REFERENCES wm_accounts(id) ON DELETE CASCADE,
            username TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE reg_orgs (slug TEXT PRIMARY KEY, display_name TEXT NOT NULL, created_at INTEGER NOT NULL);
        CREATE TABLE reg_org_members (
            slug TEXT NOT NULL REFERENCES reg_orgs(slug) ON DELETE CASCADE,
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            PRIMARY KEY (slug, account_id)
        );
        CREATE TABLE reg_packages (
            name TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            owner_account_id TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            keywords TEXT NOT NULL DEFAULT '[]',
            private INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX reg_packages_scope ON reg_packages(scope);
        CREATE TABLE reg_versions (
            package TEXT NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            version TEXT NOT NULL,
            integrity TEXT NOT NULL,
            size INTEGER NOT NULL,
            memory_count INTEGER NOT NULL,
            manifest TEXT NOT NULL,
            published_by TEXT NOT NULL,
            published_at INTEGER NOT NULL,
            yanked_at INTEGER,
            yank_reason TEXT,
            deprecated TEXT,
            PRIMARY KEY (package, version)
        );
        CREATE TABLE reg_dist_tags (
            package TEXT NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            version TEXT NOT NULL,
            PRIMARY KEY (package, tag)
        );
        CREATE TABLE reg_collaborators (
            package TEXT NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            account_id TEXT NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (package, account_id)
        );
        CREATE TABLE reg_share_links (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            package TEXT NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            max_uses INTEGER,
            uses INTEGER NOT NULL DEFAULT 0,
            revoked_at INTEGER
        );
        -- A use taken by a download, handed back once if that install fails.
        CREATE TABLE reg_share_claims (
            claim_hash TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL REFERENCES reg_share_links(token_hash) ON DELETE CASCADE,
            created_at INTEGER NOT NULL
        );
        -- Client side: what `memorylayer add` wrote into a local namespace.
        CREATE TABLE reg_installs (
            account TEXT NOT NULL,
            scope TEXT NOT NULL,
            package TEXT NOT NULL,
            version TEXT NOT NULL,
            integrity TEXT NOT NULL,
            installed_at INTEGER NOT NULL,
            memory_ids TEXT NOT NULL,
            PRIMARY KEY (account, scope, package)
        );
        """,
    ),
    Migration(
        "g003_sync_blobs",
        """
        -- Server side of `memorylayer sync`: which encrypted blob is each account's namespace now. The
        -- bytes are in the tarball store under ``digest``; a push replaces the row in one statement.
        CREATE TABLE sync_blobs (
            account_id TEXT NOT NULL,
            namespace TEXT NOT NULL,
            digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            memory_count INTEGER NOT NULL,
            pushed_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, namespace)
        );
        """,
    ),
    Migration(
        "o001_operation_calls",
        """
        -- Calls of the metered operations (recall answer, explore) per API key per UTC month: every
        -- machine using a key draws from this one row, so the plan's monthly budget holds across them.
        CREATE TABLE wm_operation_calls (
            key_id TEXT NOT NULL REFERENCES wm_api_keys(id) ON DELETE CASCADE,
            month TEXT NOT NULL,
            operation TEXT NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (key_id, month, operation)
        );
        """,
    ),
    Migration(
        "v001_database_instance",
        """
        -- A random number naming this database file, so a vector index file written beside it is never
        -- trusted for another database (a restored backup, a fresh file at the same path).
        INSERT INTO counters (name, value) VALUES ('instance', abs(random()));
        """,
    ),
]
