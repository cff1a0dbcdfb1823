"""The registry's HTTP client and the saved login (``auth.json``), for the CLI.

The registry URL is ``--registry``, else ``$MEMORYLAYER_REGISTRY``, else ``registry`` in config.toml,
else the local server. The key is ``$MEMORY_API_KEY``, else the one ``login`` saved for that URL in
``~/.memorylayer/auth.json`` (``$MEMORYLAYER_HOME/auth.json`` when the home is moved), mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from ..client._base import DEFAULT_BASE_URL, error_from_response, transport_error
from ..config import HOME_ENV, Settings
from ..errors import IntegrityError, InvalidRequest, Unauthorized
from ..files import make_private, write_private
from . import names

KEY_ENV = "MEMORY_API_KEY"
TIMEOUT = 60.0


def auth_path() -> Path:
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() / "auth.json" if env else Path.home() / ".memorylayer" / "auth.json"


def _saved() -> dict[str, Any]:
    path = auth_path()
    if not path.is_file():
        return {}
    make_private(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequest(
            f"{path}: not a readable auth file ({exc}); run `memorylayer logout` and log in again"
        ) from None
    return data if isinstance(data, dict) else {}


def registry_url(flag: str | None, settings: Settings) -> str:
    url = (flag or settings.registry or DEFAULT_BASE_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest(f"registry: expected an http:// or https:// URL, not {url!r}")
    return url


def saved_key(url: str) -> str | None:
    entry = _saved().get("registries", {}).get(url)
    return entry.get("key") if isinstance(entry, dict) else None


def save_login(url: str, key: str, username: str) -> Path:
    data = _saved()
    data.setdefault("registries", {})[url] = {"key": key, "username": username}
    path = auth_path()
    write_private(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return path


def forget_login(url: str) -> bool:
    data = _saved()
    if url not in data.get("registries", {}):
        return False
    del data["registries"][url]
    write_private(auth_path(), (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return True


def _path(name: str) -> str:
    scope, bare = names.package_name(name)
    return f"/registry/v1/packages/@{scope}/{quote(bare, safe='')}"


@dataclass
class Fetched:
    integrity: str
    claim: str | None


class RegistryClient:
    """One registry, with or without a key (public packages need none)."""

    def __init__(self, url: str, key: str | None) -> None:
        self.url, self.key = url, key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT)

    @classmethod
    def connect(cls, flag: str | None, settings: Settings, *, need_key: bool = True) -> RegistryClient:
        url = registry_url(flag, settings)
        key = os.environ.get(KEY_ENV) or saved_key(url)
        if need_key and not key:
            raise Unauthorized(f"not logged in to {url}: run `memorylayer login --token <key>` or set {KEY_ENV}")
        return cls(url, key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, TIMEOUT) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        data: dict[str, Any] = response.json()
        data.pop("request_id", None)
        return data

    # -- calls -------------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        return self._call("GET", "/registry/v1/whoami")

    def info(self, name: str, share: str | None = None) -> dict[str, Any]:
        params = {"share": share} if share else None
        package: dict[str, Any] = self._call("GET", _path(name), params=params)["package"]
        return package

    def publish(
        self,
        name: str,
        version: str,
        tarball: IO[bytes],
        *,
        tag: str | None,
        access: str | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Upload ``tarball`` (read from its current position) in chunks, so memory stays flat."""
        params = {k: v for k, v in (("tag", tag), ("access", access)) if v}
        return self._call(
            "PUT",
            f"{_path(name)}/versions/{quote(version, safe='')}",
            params=params,
            content=_chunks(tarball, progress),
            headers={"Content-Type": "application/octet-stream"},
        )

    def download(
        self,
        name: str,
        version: str,
        integrity: str,
        out: IO[bytes],
        *,
        share: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Fetched:
        """Stream a version's tarball into ``out``, checking its SHA-512 against ``integrity`` as it comes.

        Raises:
            IntegrityError: the bytes do not match; ``out`` must then be thrown away (the caller does).
        """
        params = {"share": share} if share else None
        hasher = names.new_hasher()
        try:
            with self._http.stream(
                "GET", f"{_path(name)}/versions/{quote(version, safe='')}/tarball", params=params
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                total, done = int(response.headers.get("content-length") or 0), 0
                for chunk in response.iter_bytes(1 << 16):
                    hasher.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                claim = response.headers.get("x-share-claim")
        except httpx.HTTPError as exc:
            raise transport_error(exc, TIMEOUT) from None
        got = names.integrity(hasher.digest())
        if got != integrity:
            if claim:
                self.release(claim)
            raise IntegrityError(
                f"{name}@{version}: the download does not match its integrity ({integrity[:20]}… expected, "
                f"{got[:20]}… received); nothing was installed"
            )
        return Fetched(got, claim)

    def release(self, claim: str) -> None:
        try:
            self._call("POST", f"/registry/v1/share-claims/{quote(claim, safe='')}/release")
        except Exception:  # best effort: the install already failed for its own reason
            pass

    def search(self, text: str, keyword: str | None, author: str | None, limit: int) -> list[dict[str, Any]]:
        params = {"q": text, "keyword": keyword or "", "author": author or "", "limit": limit}
        found: list[dict[str, Any]] = self._call("GET", "/registry/v1/search", params=params)["packages"]
        return found

    def yank(self, name: str, version: str, *, yanked: bool, reason: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"yanked": yanked, **({"reason": reason} if reason else {})}
        return self._call("POST", f"{_path(name)}/versions/{quote(version, safe='')}/yank", json=body)

    def deprecate(self, name: str, version: str, message: str) -> dict[str, Any]:
        body = {"message": message}
        return self._call("POST", f"{_path(name)}/versions/{quote(version, safe='')}/deprecate", json=body)

    def set_tag(self, name: str, tag: str, version: str) -> dict[str, str]:
        tags: dict[str, str] = self._call(
            "PUT", f"{_path(name)}/dist-tags/{quote(tag, safe='')}", json={"version": version}
        )["distTags"]
        return tags

    def remove_tag(self, name: str, tag: str) -> dict[str, str]:
        tags: dict[str, str] = self._call("DELETE", f"{_path(name)}/dist-tags/{quote(tag, safe='')}")["distTags"]
        return tags

    def access(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"{_path(name)}/access")

    def share(self, name: str, hours: int | None, max_uses: int | None) -> dict[str, Any]:
        return self._call(
            "POST",
            f"{_path(name)}/share-links",
            json={k: v for k, v in (("expiresHours", hours), ("maxUses", max_uses)) if v is not None},
        )

    def collaborator(self, name: str, username: str, *, add: bool) -> dict[str, Any]:
        return self._call("PUT" if add else "DELETE", f"{_path(name)}/collaborators/{quote(username, safe='')}")

    def create_org(self, slug: str, display_name: str) -> dict[str, Any]:
        org: dict[str, Any] = self._call("POST", "/registry/v1/orgs", json={"slug": slug, "displayName": display_name})[
            "org"
        ]
        return org

    def set_member(self, slug: str, username: str, role: str, *, add: bool) -> dict[str, Any]:
        org: dict[str, Any] = self._call(
            "PUT",
            f"/registry/v1/orgs/{quote(slug, safe='')}/members/{quote(username, safe='')}",
            json={"role": role, "add": add},
        )["org"]
        return org

    def remove_member(self, slug: str, username: str) -> dict[str, Any]:
        org: dict[str, Any] = self._call(
            "DELETE", f"/registry/v1/orgs/{quote(slug, safe='')}/members/{quote(username, safe='')}"
        )["org"]
        return org

    # -- sync (memorylayer sync) -------------------------------------------------------------
    def sync_status(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/registry/v1/sync")["namespaces"]
        return found

    def sync_push(
        self, namespace: str, memories: int, blob: IO[bytes], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        """Upload an encrypted blob (read from its current position) in chunks, replacing the namespace's."""
        pushed: dict[str, Any] = self._call(
            "PUT",
            "/registry/v1/sync/blob",
            params={"namespace": namespace, "memories": str(memories)},
            content=_chunks(blob, progress),
            headers={"Content-Type": "application/octet-stream"},
        )["blob"]
        return pushed

    def sync_pull(self, namespace: str, out: IO[bytes], progress: Callable[[int, int], None] | None = None) -> int:
        """Stream the namespace's blob into ``out``; returns its size."""
        done = 0
        try:
            with self._http.stream("GET", "/registry/v1/sync/blob", params={"namespace": namespace}) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                total = int(response.headers.get("content-length") or 0)
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except httpx.HTTPError as exc:
            raise transport_error(exc, TIMEOUT) from None
        return done


def _chunks(fp: IO[bytes], progress: Callable[[int, int], None] | None) -> Any:
    start = fp.tell()
    total = fp.seek(0, 2) - start
    fp.seek(start)
    done = 0
    while chunk := fp.read(1 << 16):
        done += len(chunk)
        if progress:
            progress(done, total)
        yield chunk
