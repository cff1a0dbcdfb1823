"""The registry's records behind a small protocol, like :class:`.accounts.AccountStore`.

The server side keeps usernames, orgs, packages, versions, dist-tags, collaborators and share links;
the client side keeps what ``memorylayer add`` installed into a local database (so ``remove`` can take
it out again and a second install of the same version is a no-op). Tarballs themselves are files,
kept by :class:`memorylayer.registry.tarballs.TarballStore`. Times are integer milliseconds UTC; every
method is one transaction unless called inside :meth:`RegistryStore.atomic`.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .rows import NamedRow


@dataclass(frozen=True)
class Package:
    name: str  # "@scope/name"
    scope: str
    owner_account_id: str
    description: str
    keywords: list[str]
    private: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Version:
    package: str
    version: str
    integrity: str  # "sha512-<base64>"
    size: int
    memory_count: int
    manifest: dict[str, Any]
    published_by: str
    published_at: int
    yanked_at: int | None = None
    yank_reason: str | None = None
    deprecated: str | None = None


@dataclass(frozen=True)
class ShareLink:
    id: str
    package: str
    created_by: str
    created_at: int
    expires_at: int
    max_uses: int | None
    uses: int
    revoked_at: int | None = None


@dataclass(frozen=True)
class Member:
    org: str
    account_id: str
    username: str
    role: str  # "admin" | "member"


@dataclass(frozen=True)
class Install:
    """A package version installed into a local namespace, with the memories it wrote."""

    scope: str
    package: str
    version: str
    integrity: str
    installed_at: int
    memory_ids: list[str] = field(default_factory=list)


# Rows to records: both backends keep the same columns (lists and objects as JSON text).
def package_of(row: NamedRow) -> Package:
    data = dict(row)
    return Package(**{**data, "keywords": json.loads(data["keywords"]), "private": bool(data["private"])})


def version_of(row: NamedRow) -> Version:
    data = dict(row)
    return Version(**{**data, "manifest": json.loads(data["manifest"])})


def share_link_of(row: NamedRow) -> ShareLink:
    data = dict(row)
    data.pop("token_hash", None)
    return ShareLink(**data)


def install_of(row: NamedRow) -> Install:
    data = dict(row)
    data.pop("account")
    return Install(**{**data, "memory_ids": json.loads(data["memory_ids"])})


def sync_blob_of(row: NamedRow) -> SyncBlob:
    return SyncBlob(**dict(row))


@dataclass(frozen=True)
class SyncBlob:
    """The encrypted snapshot of one namespace of one account (``memorylayer sync push``).

    The server never sees inside it: ``memory_count`` is what the client said it holds, ``size`` the
    bytes stored (under ``digest``, a SHA-512 hex, in the backend's tarball store).
    """

    account_id: str
    namespace: str
    digest: str
    size: int
    memory_count: int
    pushed_at: int


class RegistryStore(Protocol):
    def atomic(self) -> AbstractContextManager[Any]:
        """One transaction around several calls (re-entrant within a thread)."""
        ...

    # -- names -------------------------------------------------------------------------------
    def username_of(self, account_id: str) -> str | None: ...

    def account_of_username(self, username: str) -> str | None: ...

    def claim_username(self, account_id: str, wanted: str, *, now: int) -> str:
        """The account's username, assigning ``wanted`` (or ``wanted`` plus a number) on first use.

        A username never equals an org slug: both are package scopes.
        """
        ...

    def create_org(self, slug: str, display_name: str, admin_account_id: str, *, now: int) -> None:
        """Raises ScopeTaken: a user or org already holds ``slug``."""
        ...

    def org(self, slug: str) -> tuple[str, int] | None:
        """(display name, created_at) of an org, or None."""
        ...

    def members(self, slug: str) -> list[Member]: ...

    def set_member(self, slug: str, account_id: str, role: str) -> None:
        """Add a member or change their role (one transaction with the last-admin check)."""
        ...

    def remove_member(self, slug: str, account_id: str) -> bool: ...

    def orgs_of(self, account_id: str) -> list[Member]: ...

    # -- packages ----------------------------------------------------------------------------
    def package(self, name: str) -> Package | None: ...

    def upsert_package(self, package: Package) -> None:
        """Create the package or update its description, keywords, visibility and updated_at."""
        ...

    def add_version(self, version: Version) -> None:
        """Raises VersionExists: the package already has this version (versions are immutable)."""
        ...

    def versions(self, name: str) -> list[Version]: ...

    def version(self, name: str, version: str) -> Version | None: ...

    def set_yanked(self, name: str, version: str, yanked_at: int | None, reason: str | None) -> None: ...

    def set_deprecated(self, name: str, version: str, message: str | None) -> None: ...

    def dist_tags(self, name: str) -> dict[str, str]: ...

    def set_dist_tag(self, name: str, tag: str, version: str) -> None: ...

    def remove_dist_tag(self, name: str, tag: str) -> bool: ...

    def packages(self) -> list[Package]: ...

    # -- access ------------------------------------------------------------------------------
    def collaborators(self, name: str) -> list[tuple[str, str]]:
        """(account id, username) of every reader of a package."""
        ...

    def add_collaborator(self, name: str, account_id: str, *, now: int) -> None: ...

    def remove_collaborator(self, name: str, account_id: str) -> bool: ...

    def create_share_link(self, link: ShareLink, token_hash: str) -> None: ...

    def share_links(self, name: str) -> list[ShareLink]: ...

    def share_link_by_hash(self, token_hash: str) -> ShareLink | None: ...

    def take_share_use(self, token_hash: str, claim_hash: str, *, now: int) -> bool:
        """Count one use if the link is live and not used up, atomically, under ``claim_hash``; else False."""
        ...

    def give_back_share_use(self, claim_hash: str) -> bool:
        """Undo the use taken under ``claim_hash`` (its install failed), once; False if there is none."""
        ...

    # -- installs (client side) --------------------------------------------------------------
    def install(self, account: str, scope: str, package: str) -> Install | None: ...

    def installs(self, account: str, scope: str | None = None) -> list[Install]: ...

    def record_install(self, account: str, install: Install) -> None:
        """Replace the record of ``package`` in ``scope``, keeping the memory ids of earlier versions."""
        ...

    def forget_install(self, account: str, scope: str, package: str) -> bool: ...

    # -- sync blobs (server side) ------------------------------------------------------------
    def sync_blob(self, account_id: str, namespace: str) -> SyncBlob | None: ...

    def sync_blobs(self, account_id: str) -> list[SyncBlob]: ...

    def put_sync_blob(self, blob: SyncBlob) -> str | None:
        """Point (account, namespace) at ``blob`` in one statement; returns the digest it replaced, if any."""
        ...

    def sync_digest_used(self, digest: str) -> bool:
        """Whether any sync blob still points at ``digest`` (before its bytes are discarded)."""
        ...
