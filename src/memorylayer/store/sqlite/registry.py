"""SQLite implementation of :class:`~memorylayer.store.registry.RegistryStore`, in the shared database file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import LastAdmin, ScopeTaken, VersionExists
from ..registry import (
    Install,
    Member,
    Package,
    ShareLink,
    SyncBlob,
    Version,
    install_of,
    package_of,
    share_link_of,
    sync_blob_of,
    version_of,
)
from .db import Database
from .faults import translating


@translating(lambda store: (store.db.path, store.db.busy_timeout_ms))
class SqliteRegistryStore:
    """Registry names, packages, versions, links and orgs in the shared SQLite file."""

    def __init__(self, database: Database) -> None:
        self.db = database

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        with self.db.transaction() as conn:
            yield conn

    # -- names -------------------------------------------------------------------------------
    def username_of(self, account_id: str) -> str | None:
        row = self.db.conn.execute("SELECT username FROM reg_users WHERE account_id = ?", (account_id,)).fetchone()
        return None if row is None else str(row[0])

    def account_of_username(self, username: str) -> str | None:
        row = self.db.conn.execute("SELECT account_id FROM reg_users WHERE username = ?", (username,)).fetchone()
        return None if row is None else str(row[0])

    def _scope_free(self, conn: sqlite3.Connection, scope: str) -> bool:
        taken = conn.execute(
            "SELECT 1 FROM reg_users WHERE username = ? UNION ALL SELECT 1 FROM reg_orgs WHERE slug = ?",
            (scope, scope),
        ).fetchone()
        return taken is None

    def claim_username(self, account_id: str, wanted: str, *, now: int) -> str:
        with self.db.transaction() as conn:
            current = self.username_of(account_id)
            if current is not None:
                return current
            candidate, n = wanted, 1
            while not self._scope_free(conn, candidate):
                n += 1
                candidate = f"{wanted}{n}"
            conn.execute(
                "INSERT INTO reg_users (account_id, username, created_at) VALUES (?, ?, ?)",
                (account_id, candidate, now),
            )
            return candidate

    def create_org(self, slug: str, display_name: str, admin_account_id: str, *, now: int) -> None:
        with self.db.transaction() as conn:
            if not self._scope_free(conn, slug):
                raise ScopeTaken(f"the scope @{slug} is already taken by a user or an org")
            conn.execute(
                "INSERT INTO reg_orgs (slug, display_name, created_at) VALUES (?, ?, ?)", (slug, display_name, now)
            )
            conn.execute(
                "INSERT INTO reg_org_members (slug, account_id, role) VALUES (?, ?, 'admin')", (slug, admin_account_id)
            )

    def org(self, slug: str) -> tuple[str, int] | None:
        row = self.db.conn.execute("SELECT display_name, created_at FROM reg_orgs WHERE slug = ?", (slug,)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def _members(self, where: str, value: str) -> list[Member]:
        rows = self.db.conn.execute(
            "SELECT m.slug, m.account_id, coalesce(u.username, ''), m.role FROM reg_org_members m"
            f" LEFT JOIN reg_users u ON u.account_id = m.account_id WHERE m.{where} = ? ORDER BY m.slug, u.username",
            (value,),
        ).fetchall()
        return [Member(*r) for r in rows]

    def members(self, slug: str) -> list[Member]:
        return self._members("slug", slug)

    def orgs_of(self, account_id: str) -> list[Member]:
        return self._members("account_id", account_id)

    def _check_admins(self, conn: sqlite3.Connection, slug: str) -> None:
        admins = conn.execute("SELECT count(*) FROM reg_org_members WHERE slug = ? AND role = 'admin'", (slug,))
        if admins.fetchone()[0] == 0:
            raise LastAdmin(f"@{slug} needs at least one admin; make someone else admin first")

    def set_member(self, slug: str, account_id: str, role: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO reg_org_members (slug, account_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT (slug, account_id) DO UPDATE SET role = excluded.role",
                (slug, account_id, role),
            )
            self._check_admins(conn, slug)  # raising rolls the change back

    def remove_member(self, slug: str, account_id: str) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute(
                "DELETE FROM reg_org_members WHERE slug = ? AND account_id = ?", (slug, account_id)
            ).rowcount
            self._check_admins(conn, slug)
            return gone > 0

    # -- packages ----------------------------------------------------------------------------
    def package(self, name: str) -> Package | None:
        row = self.db.conn.execute("SELECT * FROM reg_packages WHERE name = ?", (name,)).fetchone()
        return None if row is None else package_of(row)

    def upsert_package(self, package: Package) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO reg_packages (name, scope, owner_account_id, description, keywords, private, created_at,"
                " updated_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET description ="
                " excluded.description, keywords = excluded.keywords, private = excluded.private,"
                " updated_at = excluded.updated_at",
                (
                    package.name,
                    package.scope,
                    package.owner_account_id,
                    package.description,
                    json.dumps(package.keywords),
                    int(package.private),
                    package.created_at,
                    package.updated_at,
                ),
            )

    def add_version(self, version: Version) -> None:
        with self.db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO reg_versions (package, version, integrity, size, memory_count, manifest,"
                    " published_by, published_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        version.package,
                        version.version,
                        version.integrity,
                        version.size,
                        version.memory_count,
                        json.dumps(version.manifest),
                        version.published_by,
                        version.published_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise VersionExists(
                    f"{version.package}@{version.version} is already published; versions are immutable "
                    "(publish --bump patch)"
                ) from None

    def versions(self, name: str) -> list[Version]:
        rows = self.db.conn.execute(
            "SELECT * FROM reg_versions WHERE package = ? ORDER BY published_at, version", (name,)
        ).fetchall()
        return [version_of(r) for r in rows]

    def version(self, name: str, version: str) -> Version | None:
        row = self.db.conn.execute(
            "SELECT * FROM reg_versions WHERE package = ? AND version = ?", (name, version)
        ).fetchone()
        return None if row is None else version_of(row)

    def set_yanked(self, name: str, version: str, yanked_at: int | None, reason: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE reg_versions SET yanked_at = ?, yank_reason = ? WHERE package = ? AND version = ?",
                (yanked_at, reason, name, version),
            )

    def set_deprecated(self, name: str, version: str, message: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE reg_versions SET deprecated = ? WHERE package = ? AND version = ?", (message, name, version)
            )

    def dist_tags(self, name: str) -> dict[str, str]:
        rows = self.db.conn.execute("SELECT tag, version FROM reg_dist_tags WHERE package = ? ORDER BY tag", (name,))
        return {str(r[0]): str(r[1]) for r in rows}

    def set_dist_tag(self, name: str, tag: str, version: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO reg_dist_tags (package, tag, version) VALUES (?, ?, ?)"
                " ON CONFLICT (package, tag) DO UPDATE SET version = excluded.version",
                (name, tag, version),
            )

    def remove_dist_tag(self, name: str, tag: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM reg_dist_tags WHERE package = ? AND tag = ?", (name, tag)).rowcount > 0

    def packages(self) -> list[Package]:
        return [package_of(r) for r in self.db.conn.execute("SELECT * FROM reg_packages ORDER BY name").fetchall()]

    # -- access ------------------------------------------------------------------------------
    def collaborators(self, name: str) -> list[tuple[str, str]]:
        rows = self.db.conn.execute(
            "SELECT c.account_id, coalesce(u.username, '') FROM reg_collaborators c"
            " LEFT JOIN reg_users u ON u.account_id = c.account_id WHERE c.package = ? ORDER BY u.username",
            (name,),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def add_collaborator(self, name: str, account_id: str, *, now: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO reg_collaborators (package, account_id, created_at) VALUES (?, ?, ?)",
                (name, account_id, now),
            )

    def remove_collaborator(self, name: str, account_id: str) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute(
                "DELETE FROM reg_collaborators WHERE package = ? AND account_id = ?", (name, account_id)
            )
            return gone.rowcount > 0

    def create_share_link(self, link: ShareLink, token_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO reg_share_links (id, token_hash, package, created_by, created_at, expires_at, max_uses,"
                " uses) VALUES (?,?,?,?,?,?,?,0)",
                (link.id, token_hash, link.package, link.created_by, link.created_at, link.expires_at, link.max_uses),
            )

    def share_links(self, name: str) -> list[ShareLink]:
        rows = self.db.conn.execute(
            "SELECT * FROM reg_share_links WHERE package = ? ORDER BY created_at, id", (name,)
        ).fetchall()
        return [share_link_of(r) for r in rows]

    def share_link_by_hash(self, token_hash: str) -> ShareLink | None:
        row = self.db.conn.execute("SELECT * FROM reg_share_links WHERE token_hash = ?", (token_hash,)).fetchone()
        return None if row is None else share_link_of(row)

    def take_share_use(self, token_hash: str, claim_hash: str, *, now: int) -> bool:
        # One conditional UPDATE: concurrent installs can never take more uses than the link allows.
        with self.db.transaction() as conn:
            taken = conn.execute(
                "UPDATE reg_share_links SET uses = uses + 1 WHERE token_hash = ? AND revoked_at IS NULL"
                " AND expires_at > ? AND (max_uses IS NULL OR uses < max_uses)",
                (token_hash, now),
            )
            if taken.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO reg_share_claims (claim_hash, token_hash, created_at) VALUES (?, ?, ?)",
                (claim_hash, token_hash, now),
            )
            return True

    def give_back_share_use(self, claim_hash: str) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute(
                "DELETE FROM reg_share_claims WHERE claim_hash = ? RETURNING token_hash", (claim_hash,)
            ).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE reg_share_links SET uses = uses - 1 WHERE token_hash = ? AND uses > 0", (row[0],))
            return True

    # -- installs (client side) --------------------------------------------------------------
    def install(self, account: str, scope: str, package: str) -> Install | None:
        row = self.db.conn.execute(
            "SELECT * FROM reg_installs WHERE account = ? AND scope = ? AND package = ?", (account, scope, package)
        ).fetchone()
        return None if row is None else install_of(row)

    def installs(self, account: str, scope: str | None = None) -> list[Install]:
        sql, params = "SELECT * FROM reg_installs WHERE account = ?", [account]
        if scope is not None:
            sql, params = sql + " AND scope = ?", [account, scope]
        return [install_of(r) for r in self.db.conn.execute(sql + " ORDER BY scope, package", params).fetchall()]

    def record_install(self, account: str, install: Install) -> None:
        with self.db.transaction() as conn:
            earlier = self.install(account, install.scope, install.package)
            ids = list(dict.fromkeys([*(earlier.memory_ids if earlier else []), *install.memory_ids]))
            conn.execute(
                "INSERT INTO reg_installs (account, scope, package, version, integrity, installed_at, memory_ids)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT (account, scope, package) DO UPDATE SET version ="
                " excluded.version, integrity = excluded.integrity, installed_at = excluded.installed_at,"
                " memory_ids = excluded.memory_ids",
                (
                    account,
                    install.scope,
                    install.package,
                    install.version,
                    install.integrity,
                    install.installed_at,
                    json.dumps(ids),
                ),
            )

    def forget_install(self, account: str, scope: str, package: str) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute(
                "DELETE FROM reg_installs WHERE account = ? AND scope = ? AND package = ?", (account, scope, package)
            )
            return gone.rowcount > 0

    # -- sync blobs (server side) ------------------------------------------------------------
    def sync_blob(self, account_id: str, namespace: str) -> SyncBlob | None:
        row = self.db.conn.execute(
            "SELECT * FROM sync_blobs WHERE account_id = ? AND namespace = ?", (account_id, namespace)
        ).fetchone()
        return None if row is None else sync_blob_of(row)

    def sync_blobs(self, account_id: str) -> list[SyncBlob]:
        rows = self.db.conn.execute(
            "SELECT * FROM sync_blobs WHERE account_id = ? ORDER BY namespace", (account_id,)
        ).fetchall()
        return [sync_blob_of(r) for r in rows]

    def put_sync_blob(self, blob: SyncBlob) -> str | None:
        with self.db.transaction() as conn:
            earlier = self.sync_blob(blob.account_id, blob.namespace)
            conn.execute(
                "INSERT INTO sync_blobs (account_id, namespace, digest, size, memory_count, pushed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, namespace) DO UPDATE SET"
                " digest = excluded.digest, size = excluded.size, memory_count = excluded.memory_count,"
                " pushed_at = excluded.pushed_at",
                (blob.account_id, blob.namespace, blob.digest, blob.size, blob.memory_count, blob.pushed_at),
            )
            return None if earlier is None or earlier.digest == blob.digest else earlier.digest

    def sync_digest_used(self, digest: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM sync_blobs WHERE digest = ?", (digest,)).fetchone() is not None
