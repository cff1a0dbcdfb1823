"""PostgreSQL implementation of :class:`~memorylayer.store.registry.RegistryStore`, beside the memories.

The tables and columns are the SQLite file's (``g001_registry``), so ``migrate-store`` copies them
across unchanged. Every write holds the writers' lock (:meth:`Database.transaction`): registry writes
are rare, and the lock makes the check-then-write rules (a free scope, the last admin, a share
link's uses) atomic across every replica.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import errors as pg

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
from .db import Database, Row


class PostgresRegistryStore:
    """Registry names, packages, versions, links, orgs and installs in the PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    @contextmanager
    def atomic(self) -> Iterator[Any]:
        with self.db.transaction() as conn:
            yield conn

    def _one(self, query: str, params: Sequence[Any] = ()) -> Row | None:
        return self.db.one(query, params)

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.db.execute(query, params)

    def _changed(self, query: str, params: Sequence[Any] = ()) -> int:
        with self.db.transaction():
            return self.db.rowcount(query, params)

    # -- names -------------------------------------------------------------------------------
    def username_of(self, account_id: str) -> str | None:
        row = self._one("SELECT username FROM reg_users WHERE account_id = %s", (account_id,))
        return None if row is None else str(row[0])

    def account_of_username(self, username: str) -> str | None:
        row = self._one("SELECT account_id FROM reg_users WHERE username = %s", (username,))
        return None if row is None else str(row[0])

    def _scope_free(self, scope: str) -> bool:
        taken = self._one(
            "SELECT 1 FROM reg_users WHERE username = %s UNION ALL SELECT 1 FROM reg_orgs WHERE slug = %s",
            (scope, scope),
        )
        return taken is None

    def claim_username(self, account_id: str, wanted: str, *, now: int) -> str:
        with self.db.transaction():
            current = self.username_of(account_id)
            if current is not None:
                return current
            candidate, n = wanted, 1
            while not self._scope_free(candidate):
                n += 1
                candidate = f"{wanted}{n}"
            self.db.execute(
                "INSERT INTO reg_users (account_id, username, created_at) VALUES (%s, %s, %s)",
                (account_id, candidate, now),
            )
            return candidate

    def create_org(self, slug: str, display_name: str, admin_account_id: str, *, now: int) -> None:
        with self.db.transaction():
            if not self._scope_free(slug):
                raise ScopeTaken(f"the scope @{slug} is already taken by a user or an org")
            self.db.execute(
                "INSERT INTO reg_orgs (slug, display_name, created_at) VALUES (%s, %s, %s)", (slug, display_name, now)
            )
            self.db.execute(
                "INSERT INTO reg_org_members (slug, account_id, role) VALUES (%s, %s, 'admin')",
                (slug, admin_account_id),
            )

    def org(self, slug: str) -> tuple[str, int] | None:
        row = self._one("SELECT display_name, created_at FROM reg_orgs WHERE slug = %s", (slug,))
        return None if row is None else (str(row[0]), int(row[1]))

    def _members(self, where: str, value: str) -> list[Member]:
        rows = self._all(
            "SELECT m.slug, m.account_id, coalesce(u.username, ''), m.role FROM reg_org_members m"
            f" LEFT JOIN reg_users u ON u.account_id = m.account_id WHERE m.{where} = %s ORDER BY m.slug, u.username",
            (value,),
        )
        return [Member(*r) for r in rows]

    def members(self, slug: str) -> list[Member]:
        return self._members("slug", slug)

    def orgs_of(self, account_id: str) -> list[Member]:
        return self._members("account_id", account_id)

    def _check_admins(self, slug: str) -> None:
        admins = self._one("SELECT count(*) FROM reg_org_members WHERE slug = %s AND role = 'admin'", (slug,))
        if admins is None or admins[0] == 0:
            raise LastAdmin(f"@{slug} needs at least one admin; make someone else admin first")

    def set_member(self, slug: str, account_id: str, role: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO reg_org_members (slug, account_id, role) VALUES (%s, %s, %s)"
                " ON CONFLICT (slug, account_id) DO UPDATE SET role = excluded.role",
                (slug, account_id, role),
            )
            self._check_admins(slug)  # raising rolls the change back

    def remove_member(self, slug: str, account_id: str) -> bool:
        with self.db.transaction():
            gone = self.db.rowcount(
                "DELETE FROM reg_org_members WHERE slug = %s AND account_id = %s", (slug, account_id)
            )
            self._check_admins(slug)
            return gone > 0

    # -- packages ----------------------------------------------------------------------------
    def package(self, name: str) -> Package | None:
        row = self._one("SELECT * FROM reg_packages WHERE name = %s", (name,))
        return None if row is None else package_of(row)

    def upsert_package(self, package: Package) -> None:
        self._changed(
            "INSERT INTO reg_packages (name, scope, owner_account_id, description, keywords, private, created_at,"
            " updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (name) DO UPDATE SET description ="
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
        with self.db.savepoint():
            try:
                self.db.execute(
                    "INSERT INTO reg_versions (package, version, integrity, size, memory_count, manifest,"
                    " published_by, published_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
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
            except pg.UniqueViolation:
                raise VersionExists(
                    f"{version.package}@{version.version} is already published; versions are immutable "
                    "(publish --bump patch)"
                ) from None

    def versions(self, name: str) -> list[Version]:
        rows = self._all("SELECT * FROM reg_versions WHERE package = %s ORDER BY published_at, version", (name,))
        return [version_of(r) for r in rows]

    def version(self, name: str, version: str) -> Version | None:
        row = self._one("SELECT * FROM reg_versions WHERE package = %s AND version = %s", (name, version))
        return None if row is None else version_of(row)

    def set_yanked(self, name: str, version: str, yanked_at: int | None, reason: str | None) -> None:
        self._changed(
            "UPDATE reg_versions SET yanked_at = %s, yank_reason = %s WHERE package = %s AND version = %s",
            (yanked_at, reason, name, version),
        )

    def set_deprecated(self, name: str, version: str, message: str | None) -> None:
        self._changed(
            "UPDATE reg_versions SET deprecated = %s WHERE package = %s AND version = %s", (message, name, version)
        )

    def dist_tags(self, name: str) -> dict[str, str]:
        rows = self._all("SELECT tag, version FROM reg_dist_tags WHERE package = %s ORDER BY tag", (name,))
        return {str(r[0]): str(r[1]) for r in rows}

    def set_dist_tag(self, name: str, tag: str, version: str) -> None:
        self._changed(
            "INSERT INTO reg_dist_tags (package, tag, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (package, tag) DO UPDATE SET version = excluded.version",
            (name, tag, version),
        )

    def remove_dist_tag(self, name: str, tag: str) -> bool:
        return self._changed("DELETE FROM reg_dist_tags WHERE package = %s AND tag = %s", (name, tag)) > 0

    def packages(self) -> list[Package]:
        return [package_of(r) for r in self._all("SELECT * FROM reg_packages ORDER BY name")]

    # -- access ------------------------------------------------------------------------------
    def collaborators(self, name: str) -> list[tuple[str, str]]:
        rows = self._all(
            "SELECT c.account_id, coalesce(u.username, '') FROM reg_collaborators c"
            " LEFT JOIN reg_users u ON u.account_id = c.account_id WHERE c.package = %s ORDER BY u.username",
            (name,),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def add_collaborator(self, name: str, account_id: str, *, now: int) -> None:
        self._changed(
            "INSERT INTO reg_collaborators (package, account_id, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (name, account_id, now),
        )

    def remove_collaborator(self, name: str, account_id: str) -> bool:
        gone = self._changed("DELETE FROM reg_collaborators WHERE package = %s AND account_id = %s", (name, account_id))
        return gone > 0

    def create_share_link(self, link: ShareLink, token_hash: str) -> None:
        self._changed(
            "INSERT INTO reg_share_links (id, token_hash, package, created_by, created_at, expires_at, max_uses,"
            " uses) VALUES (%s,%s,%s,%s,%s,%s,%s,0)",
            (link.id, token_hash, link.package, link.created_by, link.created_at, link.expires_at, link.max_uses),
        )

    def share_links(self, name: str) -> list[ShareLink]:
        rows = self._all("SELECT * FROM reg_share_links WHERE package = %s ORDER BY created_at, id", (name,))
        return [share_link_of(r) for r in rows]

    def share_link_by_hash(self, token_hash: str) -> ShareLink | None:
        row = self._one("SELECT * FROM reg_share_links WHERE token_hash = %s", (token_hash,))
        return None if row is None else share_link_of(row)

    def take_share_use(self, token_hash: str, claim_hash: str, *, now: int) -> bool:
        # One conditional UPDATE: concurrent installs on any replica never take more uses than allowed.
        with self.db.transaction():
            taken = self.db.rowcount(
                "UPDATE reg_share_links SET uses = uses + 1 WHERE token_hash = %s AND revoked_at IS NULL"
                " AND expires_at > %s AND (max_uses IS NULL OR uses < max_uses)",
                (token_hash, now),
            )
            if taken != 1:
                return False
            self.db.execute(
                "INSERT INTO reg_share_claims (claim_hash, token_hash, created_at) VALUES (%s, %s, %s)",
                (claim_hash, token_hash, now),
            )
            return True

    def give_back_share_use(self, claim_hash: str) -> bool:
        with self.db.transaction():
            row = self.db.one("DELETE FROM reg_share_claims WHERE claim_hash = %s RETURNING token_hash", (claim_hash,))
            if row is None:
                return False
            self.db.execute("UPDATE reg_share_links SET uses = uses - 1 WHERE token_hash = %s AND uses > 0", (row[0],))
            return True

    # -- installs (client side) --------------------------------------------------------------
    def install(self, account: str, scope: str, package: str) -> Install | None:
        row = self._one(
            "SELECT * FROM reg_installs WHERE account = %s AND scope = %s AND package = %s", (account, scope, package)
        )
        return None if row is None else install_of(row)

    def installs(self, account: str, scope: str | None = None) -> list[Install]:
        sql, params = "SELECT * FROM reg_installs WHERE account = %s", [account]
        if scope is not None:
            sql, params = sql + " AND scope = %s", [account, scope]
        return [install_of(r) for r in self._all(sql + " ORDER BY scope, package", params)]

    def record_install(self, account: str, install: Install) -> None:
        with self.db.transaction():
            earlier = self.install(account, install.scope, install.package)
            ids = list(dict.fromkeys([*(earlier.memory_ids if earlier else []), *install.memory_ids]))
            self.db.execute(
                "INSERT INTO reg_installs (account, scope, package, version, integrity, installed_at, memory_ids)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (account, scope, package) DO UPDATE SET version ="
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
        gone = self._changed(
            "DELETE FROM reg_installs WHERE account = %s AND scope = %s AND package = %s", (account, scope, package)
        )
        return gone > 0

    # -- sync blobs (server side) ------------------------------------------------------------
    def sync_blob(self, account_id: str, namespace: str) -> SyncBlob | None:
        row = self._one("SELECT * FROM sync_blobs WHERE account_id = %s AND namespace = %s", (account_id, namespace))
        return None if row is None else sync_blob_of(row)

    def sync_blobs(self, account_id: str) -> list[SyncBlob]:
        rows = self._all("SELECT * FROM sync_blobs WHERE account_id = %s ORDER BY namespace", (account_id,))
        return [sync_blob_of(r) for r in rows]

    def put_sync_blob(self, blob: SyncBlob) -> str | None:
        with self.db.transaction():
            earlier = self.sync_blob(blob.account_id, blob.namespace)
            self.db.execute(
                "INSERT INTO sync_blobs (account_id, namespace, digest, size, memory_count, pushed_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (account_id, namespace) DO UPDATE SET"
                " digest = excluded.digest, size = excluded.size, memory_count = excluded.memory_count,"
                " pushed_at = excluded.pushed_at",
                (blob.account_id, blob.namespace, blob.digest, blob.size, blob.memory_count, blob.pushed_at),
            )
            return None if earlier is None or earlier.digest == blob.digest else earlier.digest

    def sync_digest_used(self, digest: str) -> bool:
        return self._one("SELECT 1 FROM sync_blobs WHERE digest = %s", (digest,)) is not None
