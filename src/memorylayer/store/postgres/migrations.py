"""The one list of named, append-only migrations of a MemoryLayer PostgreSQL database. Never edit a released one.

The tables mirror the SQLite file's (same names, same columns), so ``migrate-store`` copies rows
across unchanged; the lexical index is plain tables (postings and counts) rather than FTS5, and
vectors are pgvector columns. Every table is keyed or indexed by account first (docs/deploy.md).
"""

from .db import Migration

MIGRATIONS = [
    Migration(
        "m001_memories",
        """
        -- Row numbers and change sequence numbers come from one sequence: never handed out twice,
        -- so a row number read earlier can never name another memory.
        CREATE SEQUENCE memory_seq;
        CREATE TABLE memories (
            rowid bigint PRIMARY KEY,
            id text NOT NULL UNIQUE,
            account text NOT NULL,
            scope text NOT NULL,
            key text,
            value text NOT NULL,
            metadata text NOT NULL DEFAULT '{}',
            importance double precision NOT NULL DEFAULT 0.5,
            source text NOT NULL,
            status text NOT NULL DEFAULT 'ready',
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            last_recalled_at bigint,
            recall_count integer NOT NULL DEFAULT 0,
            content_hash text NOT NULL,
            superseded_by text,
            seq bigint NOT NULL
        );
        CREATE UNIQUE INDEX memories_live_key ON memories (account, scope, key)
            WHERE key IS NOT NULL AND superseded_by IS NULL;
        CREATE INDEX memories_key ON memories (account, scope, key) WHERE key IS NOT NULL;
        CREATE INDEX memories_scope_seq ON memories (account, scope, seq);
        CREATE INDEX memories_hash ON memories (account, scope, content_hash);
        CREATE INDEX memories_updated ON memories (account, updated_at, id);
        CREATE INDEX memories_created ON memories (account, created_at, id);
        CREATE INDEX memories_live_scope ON memories (account, scope, updated_at, id) WHERE superseded_by IS NULL;
        CREATE TABLE scopes (
            account text NOT NULL,
            scope text NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (account, scope)
        );
        """,
    ),
    Migration(
        "m002_vectors",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        -- account, scope and live are copied from the memory so a nearest-neighbour query filters one
        -- table; each model gets a partial HNSW index of its dimension (PostgresBackend.vector_index).
        CREATE TABLE memory_vectors (
            memory_rowid bigint PRIMARY KEY REFERENCES memories (rowid) ON DELETE CASCADE,
            account text NOT NULL,
            scope text NOT NULL,
            live boolean NOT NULL,
            model text NOT NULL,
            embedding vector NOT NULL
        );
        CREATE INDEX memory_vectors_scope ON memory_vectors (account, scope, model) WHERE live;
        CREATE INDEX memory_vectors_model ON memory_vectors (model);
        CREATE TABLE memory_tombstones (
            seq bigint PRIMARY KEY,
            account text NOT NULL,
            scope text NOT NULL,
            memory_rowid bigint NOT NULL
        );
        CREATE INDEX memory_tombstones_scope ON memory_tombstones (account, scope, seq);
        """,
    ),
    Migration(
        "m003_terms",
        """
        -- The engine's analysed terms of each memory, and BM25's statistics over all of them, kept
        -- exactly as SQLite's FTS5 keeps them, so both backends rank alike.
        CREATE TABLE memory_terms (
            memory_rowid bigint PRIMARY KEY REFERENCES memories (rowid) ON DELETE CASCADE,
            terms text NOT NULL,
            length integer NOT NULL
        );
        CREATE TABLE memory_postings (
            account text NOT NULL,
            scope text NOT NULL,
            term text NOT NULL,
            memory_rowid bigint NOT NULL REFERENCES memories (rowid) ON DELETE CASCADE,
            tf integer NOT NULL,
            PRIMARY KEY (account, scope, term, memory_rowid)
        );
        CREATE INDEX memory_postings_row ON memory_postings (memory_rowid);
        CREATE TABLE term_documents (term text PRIMARY KEY, documents bigint NOT NULL);
        CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
        INSERT INTO counters (name, value) VALUES ('documents', 0), ('tokens', 0);
        """,
    ),
    Migration(
        "m004_history",
        """
        CREATE TABLE memory_history (
            id bigserial PRIMARY KEY,
            account text NOT NULL,
            memory_id text NOT NULL,
            scope text NOT NULL,
            key text,
            value text NOT NULL,
            metadata text NOT NULL,
            importance double precision NOT NULL,
            source text NOT NULL,
            event text NOT NULL,
            replaced_at bigint NOT NULL,
            replaced_by text
        );
        CREATE INDEX memory_history_memory ON memory_history (memory_id);
        CREATE INDEX memory_history_key ON memory_history (account, scope, key);
        """,
    ),
    Migration(
        "m005_expiry_and_validity",
        """
        -- As SQLite's m009: expires_at (gone from every read at that instant, purged by a sweep),
        -- valid_from / valid_to (the interval a value holds; NULL valid_from reads as created_at).
        ALTER TABLE memories ADD COLUMN expires_at bigint;
        ALTER TABLE memories ADD COLUMN valid_from bigint;
        ALTER TABLE memories ADD COLUMN valid_to bigint;
        CREATE INDEX memories_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;
        ALTER TABLE memory_history ADD COLUMN valid_from bigint;
        ALTER TABLE memory_history ADD COLUMN valid_to bigint;
        """,
    ),
    Migration(
        "m006_recall_log",
        """
        -- Access history event by event: one row per memory a recall returned, the rows of one recall
        -- sharing its recall_id. Consolidation reads it for ACT-R activation (when each access was)
        -- and co-recall (what was recalled together); a memory's rows go with it.
        CREATE TABLE memory_recalls (
            account text NOT NULL,
            scope text NOT NULL,
            recall_id text NOT NULL,
            memory_id text NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            at bigint NOT NULL
        );
        CREATE INDEX memory_recalls_scope ON memory_recalls (account, scope, at);
        CREATE INDEX memory_recalls_memory ON memory_recalls (memory_id);
        """,
    ),
    Migration(
        "m007_links",
        """
        -- Links between memories of one scope (weave, consolidation), which explore and ripple follow.
        -- A link goes with either of its memories; symmetric kinds are stored once (source < target).
        CREATE TABLE memory_links (
            account text NOT NULL,
            scope text NOT NULL,
            source_id text NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            target_id text NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            kind text NOT NULL,
            weight double precision NOT NULL,
            label text NOT NULL DEFAULT '',
            created_at bigint NOT NULL,
            PRIMARY KEY (source_id, target_id, kind)
        );
        CREATE INDEX memory_links_target ON memory_links (target_id);
        CREATE INDEX memory_links_scope ON memory_links (account, scope, kind);
        """,
    ),
    Migration(
        "m008_recall_log_age",
        """
        -- The sweep that keeps the recall log to limits.RECALL_LOG_DAYS finds its oldest rows by age alone.
        CREATE INDEX memory_recalls_at ON memory_recalls (at);
        """,
    ),
    Migration(
        "a001_accounts",
        """
        CREATE TABLE wm_accounts (
            id text PRIMARY KEY,
            email text NOT NULL UNIQUE,
            name text,
            metadata text NOT NULL DEFAULT '{}',
            parent_account_id text REFERENCES wm_accounts(id) ON DELETE CASCADE,
            plan_tier text NOT NULL DEFAULT 'free',
            plan_status text NOT NULL DEFAULT 'active',
            memory_limit bigint NOT NULL,
            monthly_api_call_limit bigint NOT NULL,
            api_calls_this_period bigint NOT NULL DEFAULT 0,
            current_period_start bigint NOT NULL,
            current_period_end bigint,
            extraction_prompt text,
            created_at bigint NOT NULL
        );
        CREATE INDEX wm_accounts_parent ON wm_accounts(parent_account_id) WHERE parent_account_id IS NOT NULL;
        CREATE UNIQUE INDEX wm_accounts_child_name ON wm_accounts(parent_account_id, name)
            WHERE parent_account_id IS NOT NULL;
        CREATE TABLE wm_api_keys (
            id text PRIMARY KEY,
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            key_hash text NOT NULL,
            key_prefix text NOT NULL,
            name text,
            scopes text NOT NULL,
            expires_at bigint,
            issued_to text,
            revoked_at bigint,
            parent_key_id text REFERENCES wm_api_keys(id) ON DELETE SET NULL,
            created_at bigint NOT NULL,
            last_used_at bigint
        );
        CREATE INDEX wm_api_keys_hash ON wm_api_keys(key_hash);
        CREATE INDEX wm_api_keys_account ON wm_api_keys(account_id);
        CREATE TABLE wm_caches (
            id text PRIMARY KEY,
            token_hash text NOT NULL UNIQUE,
            claim_token_hash text NOT NULL UNIQUE,
            ip_address text NOT NULL,
            ttl_seconds bigint NOT NULL,
            expires_at bigint NOT NULL,
            claimed_by_account_id text REFERENCES wm_accounts(id) ON DELETE SET NULL,
            claimed_at bigint,
            created_at bigint NOT NULL
        );
        CREATE INDEX wm_caches_ip ON wm_caches(ip_address, created_at);
        CREATE TABLE wm_cache_entries (
            cache_id text NOT NULL REFERENCES wm_caches(id) ON DELETE CASCADE,
            key text NOT NULL,
            value text NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            PRIMARY KEY (cache_id, key)
        );
        CREATE TABLE wm_auth_codes (
            id text PRIMARY KEY,
            email text NOT NULL,
            code_hash text NOT NULL,
            ip_address text,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            locked_until bigint,
            used_at bigint,
            position bigserial
        );
        CREATE INDEX wm_auth_codes_email ON wm_auth_codes(email, created_at);
        CREATE INDEX wm_auth_codes_ip ON wm_auth_codes(ip_address, created_at);
        CREATE TABLE wm_idempotency_keys (
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            idempotency_key text NOT NULL,
            fingerprint text NOT NULL,
            token text NOT NULL,
            reserved_at bigint NOT NULL,
            status integer,
            response text,
            finished_at bigint,
            PRIMARY KEY (account_id, idempotency_key)
        );
        CREATE TABLE wm_sign_in_failures (
            email text PRIMARY KEY,
            count integer NOT NULL,
            first_at bigint NOT NULL,
            locked_until bigint
        );
        CREATE TABLE mcp_daily_calls (
            key_id text NOT NULL,
            day text NOT NULL,
            calls bigint NOT NULL,
            PRIMARY KEY (key_id, day)
        );
        CREATE TABLE wm_sessions (
            token_hash text PRIMARY KEY,
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            key_id text NOT NULL REFERENCES wm_api_keys(id) ON DELETE CASCADE,
            csrf_token text NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            last_seen_at bigint NOT NULL,
            user_agent text NOT NULL DEFAULT ''
        );
        CREATE INDEX wm_sessions_account ON wm_sessions(account_id);
        CREATE INDEX wm_sessions_expiry ON wm_sessions(expires_at);
        CREATE TABLE wm_daily_usage (
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            day text NOT NULL,
            api_calls bigint NOT NULL DEFAULT 0,
            mcp_calls bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (account_id, day)
        );
        """,
    ),
    Migration(
        "g001_registry",
        """
        -- Server side: usernames and org slugs share one namespace (a package scope).
        CREATE TABLE reg_users (
            account_id text PRIMARY KEY REFERENCES wm_accounts(id) ON DELETE CASCADE,
            username text NOT NULL UNIQUE,
            created_at bigint NOT NULL
        );
        CREATE TABLE reg_orgs (slug text PRIMARY KEY, display_name text NOT NULL, created_at bigint NOT NULL);
        CREATE TABLE reg_org_members (
            slug text NOT NULL REFERENCES reg_orgs(slug) ON DELETE CASCADE,
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            role text NOT NULL,
            PRIMARY KEY (slug, account_id)
        );
        CREATE TABLE reg_packages (
            name text PRIMARY KEY,
            scope text NOT NULL,
            owner_account_id text NOT NULL,
            description text NOT NULL DEFAULT '',
            keywords text NOT NULL DEFAULT '[]',
            private bigint NOT NULL DEFAULT 0,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE INDEX reg_packages_scope ON reg_packages(scope);
        CREATE TABLE reg_versions (
            package text NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            version text NOT NULL,
            integrity text NOT NULL,
            size bigint NOT NULL,
            memory_count bigint NOT NULL,
            manifest text NOT NULL,
            published_by text NOT NULL,
            published_at bigint NOT NULL,
            yanked_at bigint,
            yank_reason text,
            deprecated text,
            PRIMARY KEY (package, version)
        );
        CREATE TABLE reg_dist_tags (
            package text NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            tag text NOT NULL,
            version text NOT NULL,
            PRIMARY KEY (package, tag)
        );
        CREATE TABLE reg_collaborators (
            package text NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            account_id text NOT NULL REFERENCES wm_accounts(id) ON DELETE CASCADE,
            created_at bigint NOT NULL,
            PRIMARY KEY (package, account_id)
        );
        CREATE TABLE reg_share_links (
            id text PRIMARY KEY,
            token_hash text NOT NULL UNIQUE,
            package text NOT NULL REFERENCES reg_packages(name) ON DELETE CASCADE,
            created_by text NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            max_uses bigint,
            uses bigint NOT NULL DEFAULT 0,
            revoked_at bigint
        );
        -- A use taken by a download, handed back once if that install fails.
        CREATE TABLE reg_share_claims (
            claim_hash text PRIMARY KEY,
            token_hash text NOT NULL REFERENCES reg_share_links(token_hash) ON DELETE CASCADE,
            created_at bigint NOT NULL
        );
        -- Client side: what `memorylayer add` wrote into a local namespace.
        CREATE TABLE reg_installs (
            account text NOT NULL,
            scope text NOT NULL,
            package text NOT NULL,
            version text NOT NULL,
            integrity text NOT NULL,
            installed_at bigint NOT NULL,
            memory_ids text NOT NULL,
            PRIMARY KEY (account, scope, package)
        );
        """,
    ),
    Migration(
        "g002_tarballs",
        """
        -- Package tarballs live in the database on PostgreSQL (store/postgres/tarballs.py), so every
        -- replica serves every package; a tarball is visible once its row commits with its chunks.
        CREATE TABLE reg_tarballs (digest text PRIMARY KEY, size bigint NOT NULL, chunks integer NOT NULL);
        CREATE TABLE reg_tarball_chunks (
            digest text NOT NULL,
            seq integer NOT NULL,
            bytes bytea NOT NULL,
            PRIMARY KEY (digest, seq)
        );
        """,
    ),
    Migration(
        "g003_sync_blobs",
        """
        -- Server side of `memorylayer sync`: which encrypted blob is each account's namespace now. The
        -- bytes are in the tarball store under ``digest``; a push replaces the row in one statement.
        CREATE TABLE sync_blobs (
            account_id text NOT NULL,
            namespace text NOT NULL,
            digest text NOT NULL,
            size bigint NOT NULL,
            memory_count integer NOT NULL,
            pushed_at bigint NOT NULL,
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
            key_id text NOT NULL REFERENCES wm_api_keys(id) ON DELETE CASCADE,
            month text NOT NULL,
            operation text NOT NULL,
            calls bigint NOT NULL,
            PRIMARY KEY (key_id, month, operation)
        );
        """,
    ),
]
