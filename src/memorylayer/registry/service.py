"""The registry's rules, between the HTTP routes and the stores: who may read, publish and manage what.

* A package's scope is its publisher's username or an org slug. A user publishes under their own
  username; every member of an org publishes under its slug.
* A public package is readable by anyone; a private one by its publisher, the org's members, its
  collaborators (the reader role: install, never publish) and holders of a live share link. To
  everyone else it does not exist (404), so private names do not leak.
* Collaborators and share links are managed by the publisher, or an org's admins; versions are yanked,
  deprecated and tagged by anyone who may publish under the scope.
* A share link's use is taken atomically by the download (never more than ``max_uses``) under a claim
  the installer hands back once if its install fails.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import (
    Forbidden,
    InvalidRequest,
    InvalidVersion,
    NotFound,
    ShareLinkExpired,
    ShareLinkUsedUp,
    UnsafeArchive,
    VersionYanked,
)
from ..store.accounts import AccountStore
from ..store.registry import Package, RegistryStore, ShareLink, Version
from ..store.tarballs import TarballStore
from ..types import iso_ms
from . import names
from .archive import read_manifest

if TYPE_CHECKING:
    from ..engine import Engine

#: The engine account whose memories index package descriptions for search (never a server account id).
SEARCH_ACCOUNT = "registry"
SEARCH_SCOPE = "packages"
SHARE_PREFIX = "mlshare_"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Download:
    path: Path
    version: Version
    claim: str | None


@dataclass
class Registry:
    store: RegistryStore
    accounts: AccountStore
    tarballs: TarballStore
    engine: Engine
    clock: Callable[[], int]

    # -- identity ----------------------------------------------------------------------------
    def username(self, account_id: str) -> str:
        """The account's username, assigned from its email on first use."""
        known = self.store.username_of(account_id)
        if known is not None:
            return known
        account = self.accounts.get_account(account_id)
        email = account.email if account is not None else account_id
        return self.store.claim_username(account_id, names.username_from_email(email), now=self.clock())

    def account_of(self, username: str) -> str:
        account = self.store.account_of_username(names.slug(username, "username"))
        if account is None:
            # Usernames are handed out on first use; give every account its own (oldest first, so the
            # same email always gets the same name) before saying there is no such user.
            for other in sorted(self.accounts.list_accounts(), key=lambda a: (a.created_at, a.id)):
                if other.parent_account_id is None:
                    self.username(other.id)
            account = self.store.account_of_username(username)
        if account is None:
            raise NotFound(f"no registry user {username!r}")
        return account

    def whoami(self, account_id: str) -> dict[str, Any]:
        return {
            "username": self.username(account_id),
            "orgs": [{"slug": m.org, "role": m.role} for m in self.store.orgs_of(account_id)],
        }

    # -- permissions -------------------------------------------------------------------------
    def _role(self, scope: str, account_id: str | None) -> str | None:
        """``owner`` for one's own scope, the org role for an org's, else None."""
        if account_id is None:
            return None
        if self.username(account_id) == scope:
            return "owner"
        for member in self.store.members(scope):
            if member.account_id == account_id:
                return member.role
        return None

    def _may_publish(self, scope: str, account_id: str) -> None:
        if self._role(scope, account_id) is None:
            if self.store.org(scope) is None and self.store.account_of_username(scope) is None:
                raise Forbidden(f"@{scope} is not your username or an org you belong to (create it: org create)")
            raise Forbidden(f"you may not publish under @{scope}")

    def _may_manage(self, package: Package, account_id: str) -> None:
        if self._role(package.scope, account_id) not in ("owner", "admin"):
            raise Forbidden(f"only the publisher or an admin of @{package.scope} may manage {package.name}'s access")

    def _visible(self, package: Package, account_id: str | None) -> bool:
        if not package.private or self._role(package.scope, account_id) is not None:
            return True
        return account_id is not None and any(a == account_id for a, _ in self.store.collaborators(package.name))

    def _link(self, package: Package, token: str) -> ShareLink:
        link = self.store.share_link_by_hash(sha256(token))
        if link is None or link.package != package.name:
            raise ShareLinkExpired("this share link is not valid for this package")
        if link.revoked_at is not None or link.expires_at <= self.clock():
            raise ShareLinkExpired("this share link has expired; ask for a new one")
        if link.max_uses is not None and link.uses >= link.max_uses:
            raise ShareLinkUsedUp(f"this share link has been used {link.uses} of {link.max_uses} times")
        return link

    def readable(self, name: str, account_id: str | None, share: str | None = None) -> Package:
        """The package if the caller may read it.

        Raises:
            NotFound: there is none, or it is private and the caller has no access.
            ShareLinkExpired, ShareLinkUsedUp: the share link given cannot be used.
        """
        names.package_name(name)
        package = self.store.package(name)
        if package is None:
            raise NotFound(f"no package {name}")
        if self._visible(package, account_id):
            return package
        if share:
            self._link(package, share)
            return package
        raise NotFound(f"no package {name}")

    def _writable(self, name: str, account_id: str) -> Package:
        package = self.readable(name, account_id)
        self._may_publish(package.scope, account_id)
        return package

    # -- publish -----------------------------------------------------------------------------
    def publish(
        self,
        account_id: str,
        name: str,
        version: str,
        upload: Path,
        digest: bytes,
        *,
        tag: str | None = None,
        access: str | None = None,
    ) -> Version:
        """Publish the tarball at ``upload`` (already hashed) as ``name@version``.

        Raises:
            InvalidPackageName, InvalidVersion: bad name, version, tag or dependency.
            UnsafeArchive: the tarball is not a package, or its manifest names another package or version.
            Forbidden: the scope is not the caller's.
            VersionExists: the version is already published.
        """
        scope, _ = names.package_name(name)
        names.version(version)
        tag = names.tag(tag or "latest")
        if access not in (None, "public", "private"):
            raise InvalidRequest(f"access: expected public or private, not {access!r}")
        self._may_publish(scope, account_id)
        manifest = _checked_manifest(read_manifest(upload), name, version)
        keywords, description = manifest.get("keywords") or [], manifest.get("description") or ""
        now = self.clock()
        existing = self.store.package(name)
        private = (access == "private") if access else bool(existing.private if existing else manifest.get("private"))
        package = Package(
            name=name,
            scope=scope,
            owner_account_id=existing.owner_account_id if existing else account_id,
            description=description,
            keywords=[k.lower() for k in keywords][:32],
            private=private,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        record = Version(
            package=name,
            version=version,
            integrity=names.integrity(digest),
            size=upload.stat().st_size,
            memory_count=int(manifest.get("memorylayer", {}).get("memories", 0) or 0),
            manifest=manifest,
            published_by=account_id,
            published_at=now,
        )
        self.tarballs.put(digest.hex(), upload)  # content-addressed: harmless if the insert below fails
        with self.store.atomic():
            self.store.upsert_package(package)
            self.store.add_version(record)
            self.store.set_dist_tag(name, tag, version)
        self._index(package)
        return record

    def _index(self, package: Package) -> None:
        """Package descriptions and keywords are memories of the search account: the engine ranks them."""
        text = " ".join([package.name, package.description, *package.keywords]).strip()
        self.engine.for_account(SEARCH_ACCOUNT).add(
            SEARCH_SCOPE, text, key=package.name, metadata={"package": package.name}
        )

    # -- read --------------------------------------------------------------------------------
    def info(self, name: str, account_id: str | None, share: str | None = None) -> dict[str, Any]:
        package = self.readable(name, account_id, share)
        versions = self.store.versions(name)
        installable = [v.version for v in versions if v.yanked_at is None]
        tags = self.store.dist_tags(name)
        latest = tags.get("latest")
        if latest is None or latest not in installable:
            # A yanked latest gives way to the newest version that is not yanked.
            newest = names.newest(installable)
            if newest is not None:
                tags["latest"] = newest
            else:
                tags.pop("latest", None)
        return {
            "name": package.name,
            "scope": package.scope,
            "description": package.description,
            "keywords": package.keywords,
            "private": package.private,
            "publisher": self.username(package.owner_account_id),
            "createdAt": iso_ms(package.created_at),
            "updatedAt": iso_ms(package.updated_at),
            "distTags": tags,
            "versions": [version_json(v) for v in versions],
        }

    def download(self, name: str, version: str, account_id: str | None, share: str | None) -> Download:
        """The tarball of ``name@version``; a share link (when it is what grants access) loses one use.

        Raises:
            NotFound, ShareLinkExpired, ShareLinkUsedUp: as :meth:`readable`.
            VersionYanked: the version was yanked.
        """
        package = self.readable(name, account_id, share)
        record = self.store.version(name, names.version(version))
        if record is None:
            raise NotFound(f"{name} has no version {version}")
        if record.yanked_at is not None:
            raise VersionYanked(
                f"{name}@{version} was yanked" + (f": {record.yank_reason}" if record.yank_reason else "")
            )
        claim = None
        if share and not self._visible(package, account_id):
            claim = SHARE_PREFIX + secrets.token_urlsafe(24)
            if not self.store.take_share_use(sha256(share), sha256(claim), now=self.clock()):
                self._link(package, share)  # says why: expired or used up
                raise ShareLinkUsedUp("this share link has been used as many times as it allows")
        digest_hex = _hex_of(record.integrity)
        return Download(self.tarballs.path(digest_hex), record, claim)

    def release_claim(self, claim: str) -> bool:
        return self.store.give_back_share_use(sha256(claim))

    def search(
        self, account_id: str | None, text: str | None, keyword: str | None, author: str | None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Packages the caller may see, best first for ``text`` (the engine's own hybrid retrieval)."""
        if text:
            hits = self.engine.for_account(SEARCH_ACCOUNT).search(text, scope=SEARCH_SCOPE, top_k=200)
            ordered = [(h.memory.metadata.get("package"), h.score) for h in hits]
        else:
            ordered = [(p.name, 0.0) for p in self.store.packages()]
        found = []
        for name, score in ordered:
            package = self.store.package(str(name)) if name else None
            if package is None or not self._visible(package, account_id):
                continue
            if keyword and keyword.lower() not in package.keywords:
                continue
            if author and author.lower().lstrip("@") not in (package.scope, self.username(package.owner_account_id)):
                continue
            tags = self.store.dist_tags(package.name)
            found.append(
                {
                    "name": package.name,
                    "description": package.description,
                    "keywords": package.keywords,
                    "version": tags.get("latest"),
                    "private": package.private,
                    "score": round(score, 4),
                }
            )
            if len(found) >= limit:
                break
        return found

    # -- versions ----------------------------------------------------------------------------
    def _version(self, name: str, version: str, account_id: str) -> Version:
        self._writable(name, account_id)
        record = self.store.version(name, names.version(version))
        if record is None:
            raise NotFound(f"{name} has no version {version}")
        return record

    def yank(self, name: str, version: str, account_id: str, *, yanked: bool, reason: str | None = None) -> Version:
        self._version(name, version, account_id)
        self.store.set_yanked(name, version, self.clock() if yanked else None, reason if yanked else None)
        return self._version(name, version, account_id)

    def deprecate(self, name: str, version: str, account_id: str, message: str | None) -> Version:
        self._version(name, version, account_id)
        self.store.set_deprecated(name, version, message or None)
        return self._version(name, version, account_id)

    def set_tag(self, name: str, tag: str, version: str, account_id: str) -> dict[str, str]:
        self._version(name, version, account_id)
        self.store.set_dist_tag(name, names.tag(tag), version)
        return self.store.dist_tags(name)

    def remove_tag(self, name: str, tag: str, account_id: str) -> dict[str, str]:
        self._writable(name, account_id)
        if names.tag(tag) == "latest":
            raise InvalidRequest("the latest tag cannot be removed; point it at another version instead")
        if not self.store.remove_dist_tag(name, tag):
            raise NotFound(f"{name} has no dist-tag {tag}")
        return self.store.dist_tags(name)

    # -- sharing -----------------------------------------------------------------------------
    def create_link(
        self, name: str, account_id: str, *, hours: int | None, max_uses: int | None
    ) -> tuple[ShareLink, str]:
        package = self.readable(name, account_id)
        self._may_manage(package, account_id)
        hours = limits.SHARE_DEFAULT_HOURS if hours is None else hours
        if not isinstance(hours, int) or not 1 <= hours <= limits.SHARE_MAX_HOURS:
            raise InvalidRequest(f"expires: expected 1-{limits.SHARE_MAX_HOURS} hours")
        if max_uses is not None and (not isinstance(max_uses, int) or max_uses < 1):
            raise InvalidRequest("max_uses: expected a positive number")
        now = self.clock()
        token = SHARE_PREFIX + secrets.token_urlsafe(32)
        link = ShareLink(str(uuid.uuid4()), name, account_id, now, now + hours * 3_600_000, max_uses, 0)
        self.store.create_share_link(link, sha256(token))
        return link, token

    def access(self, name: str, account_id: str) -> dict[str, Any]:
        package = self.readable(name, account_id)
        self._may_manage(package, account_id)
        now = self.clock()
        return {
            "collaborators": [{"username": u, "role": "reader"} for _, u in self.store.collaborators(name)],
            "shareLinks": [link_json(link) for link in self.store.share_links(name) if link.expires_at > now],
        }

    def collaborator(self, name: str, account_id: str, username: str, *, add: bool) -> dict[str, Any]:
        package = self.readable(name, account_id)
        self._may_manage(package, account_id)
        other = self.account_of(username)
        if add:
            self.store.add_collaborator(name, other, now=self.clock())
        elif not self.store.remove_collaborator(name, other):
            raise NotFound(f"{username} is not a collaborator of {name}")
        return self.access(name, account_id)

    # -- orgs --------------------------------------------------------------------------------
    def create_org(self, account_id: str, slug: str, display_name: str) -> dict[str, Any]:
        names.slug(slug)
        if not isinstance(display_name, str) or not display_name.strip() or len(display_name) > 100:
            raise InvalidRequest("display name: expected 1-100 characters")
        self.username(account_id)  # a user's own scope is claimed before an org can take it
        self.store.create_org(slug, display_name.strip(), account_id, now=self.clock())
        return self.org(slug, account_id)

    def org(self, slug: str, account_id: str) -> dict[str, Any]:
        found = self.store.org(names.slug(slug))
        if found is None or self._role(slug, account_id) not in ("admin", "member"):
            raise NotFound(f"no org @{slug} you belong to")
        return self._org_json(slug, found[0])

    def _org_json(self, slug: str, display_name: str) -> dict[str, Any]:
        return {
            "slug": slug,
            "displayName": display_name,
            "members": [{"username": m.username, "role": m.role} for m in self.store.members(slug)],
        }

    def _org_admin(self, slug: str, account_id: str) -> None:
        self.org(slug, account_id)
        if self._role(slug, account_id) != "admin":
            raise Forbidden(f"only admins of @{slug} manage its members")

    def set_member(self, slug: str, account_id: str, username: str, role: str, *, new: bool) -> dict[str, Any]:
        self._org_admin(slug, account_id)
        if role not in names.ROLES:
            raise InvalidRequest(f"role: expected admin or member, not {role!r}")
        other = self.account_of(username)
        known = any(m.account_id == other for m in self.store.members(slug))
        if not new and not known:
            raise NotFound(f"{username} is not a member of @{slug}")
        self.store.set_member(slug, other, role)
        return self.org(slug, account_id)

    def remove_member(self, slug: str, account_id: str, username: str) -> dict[str, Any]:
        found = self.org(slug, account_id)
        self._org_admin(slug, account_id)
        if not self.store.remove_member(slug, self.account_of(username)):
            raise NotFound(f"{username} is not a member of @{slug}")
        return self._org_json(slug, found["displayName"])  # an admin may have removed themselves


def _checked_manifest(manifest: dict[str, Any], name: str, version: str) -> dict[str, Any]:
    """The tarball's manifest, if it is the one of ``name@version`` with well-formed fields.

    Raises:
        UnsafeArchive: it names another package or version.
        InvalidVersion, InvalidPackageName, InvalidRequest: a bad dependency, keyword list or description.
    """
    if manifest.get("name") != name or manifest.get("version") != version:
        raise UnsafeArchive(
            f"the tarball's memory.json is {manifest.get('name')}@{manifest.get('version')}, not {name}@{version}"
        )
    dependencies = manifest.get("dependencies") or {}
    if not isinstance(dependencies, dict):
        raise InvalidVersion("dependencies: expected an object of package names and ranges")
    for dep, wanted in dependencies.items():
        names.package_name(dep)
        names.check_range(wanted, f"dependencies[{dep}]")
    keywords = manifest.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise InvalidRequest("keywords: expected a list of strings")
    if not isinstance(manifest.get("description") or "", str):
        raise InvalidRequest("description: expected a string")
    return manifest


def _hex_of(integrity: str) -> str:
    return base64.b64decode(integrity.removeprefix("sha512-")).hex()


def version_json(v: Version) -> dict[str, Any]:
    return {
        "version": v.version,
        "integrity": v.integrity,
        "size": v.size,
        "memoryCount": v.memory_count,
        "dependencies": v.manifest.get("dependencies") or {},
        "publishedAt": iso_ms(v.published_at),
        "yanked": v.yanked_at is not None,
        "yankReason": v.yank_reason,
        "deprecated": v.deprecated,
    }


def link_json(link: ShareLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "expiresAt": iso_ms(link.expires_at),
        "maxUses": link.max_uses,
        "uses": link.uses,
    }
