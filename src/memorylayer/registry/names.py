"""Package names, versions, ranges, dist-tags and integrity strings, checked the same on both ends.

Names follow npm's rules for scoped packages: ``@scope/name``, lowercase, at most 214 characters, made
of letters, digits, ``-``, ``.`` and ``_``, not starting with ``.`` or ``_``. Versions are semver.
"""

from __future__ import annotations

import base64
import hashlib
import re

import nodesemver as semver

from ..errors import InvalidPackageName, InvalidRequest, InvalidVersion

NAME_MAX = 214
#: The patterns the OpenAPI schema publishes for path parameters and bodies (matched in full).
PART = r"[a-z0-9][a-z0-9._-]*"
SCOPE = rf"@{PART}"
SLUG = r"[a-z0-9][a-z0-9-]{0,38}"
# Tags never start with v or x: "v1" and "x" read as ranges, and a tag must not.
TAG = r"[a-uwyz][a-z0-9._-]{0,63}"
_ID = r"(?:0|[1-9][0-9]*)"
_PRE = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
#: Semver without build metadata (which versions do not keep): 1.2.3, 1.0.0-beta.1.
SEMVER = rf"{_ID}\.{_ID}\.{_ID}(?:-{_PRE}(?:\.{_PRE})*)?"
_NAME = re.compile(rf"@({PART})/({PART})")
_SLUG = re.compile(SLUG)
_TAG = re.compile(TAG)
ROLES = ("admin", "member")


def package_name(value: object) -> tuple[str, str]:
    """(scope, name) of ``@scope/name``.

    Raises:
        InvalidPackageName: anything else, with what is wrong.
    """
    if not isinstance(value, str) or not value:
        raise InvalidPackageName("package name: expected @scope/name")
    if len(value) > NAME_MAX:
        raise InvalidPackageName(f"package name: at most {NAME_MAX} characters")
    if value != value.lower():
        raise InvalidPackageName(f"package name {value!r}: must be lowercase")
    match = _NAME.fullmatch(value)
    if match is None:
        raise InvalidPackageName(
            f"package name {value!r}: expected @scope/name of lowercase letters, digits, '-', '.' and '_'"
        )
    return match.group(1), match.group(2)


def slug(value: object, what: str = "org slug") -> str:
    """A username or org slug: lowercase letters, digits and ``-``, 1-39 characters.

    Raises:
        InvalidPackageName: anything else.
    """
    if not isinstance(value, str) or _SLUG.fullmatch(value) is None:
        raise InvalidPackageName(f"{what} {value!r}: expected 1-39 lowercase letters, digits or '-'")
    return value


def slugify(text: str, fallback: str = "user") -> str:
    """``text`` lowercased with every run of other characters than letters, digits and ``-`` made ``-``."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:32] or fallback


def username_from_email(email: str) -> str:
    """The username an account gets on first use: its email's local part, made a valid slug."""
    return slugify(email.split("@")[0])


def version(value: object) -> str:
    """A semver version, as written (``1.2.3``, ``1.0.0-beta.1``).

    Raises:
        InvalidVersion: anything else.
    """
    parsed = semver.valid(value, False) if isinstance(value, str) else None
    if parsed is None or str(parsed) != value or re.fullmatch(SEMVER, value) is None:
        raise InvalidVersion(f"version {value!r}: expected semver such as 1.0.0")
    return value


def bump(current: str, part: str) -> str:
    """``current`` with its patch, minor or major part raised."""
    raised = semver.inc(version(current), part, False)
    if raised is None:
        raise InvalidRequest(f"--bump: expected patch, minor or major, not {part!r}")
    return str(raised)


def tag(value: object) -> str:
    """A dist-tag: a lowercase word that cannot be read as a version or range (``latest``, ``beta``).

    Raises:
        InvalidVersion: anything else.
    """
    if not isinstance(value, str) or _TAG.fullmatch(value) is None or semver.valid_range(value, False):
        raise InvalidVersion(f"dist-tag {value!r}: expected a lowercase word such as latest or beta")
    return value


def spec(value: str) -> tuple[str, str | None]:
    """``@scope/name[@version|@range|@tag]`` split into (name, wanted or None)."""
    head, sep, wanted = value[1:].partition("@") if value.startswith("@") else (value, "", "")
    name = "@" + head if value.startswith("@") else head
    package_name(name)
    if sep and not wanted:
        raise InvalidVersion(f"{value!r}: nothing after the second '@'")
    return name, wanted or None


def is_range(wanted: str) -> bool:
    """Whether ``wanted`` reads as a version or a range (else it is a dist-tag)."""
    return semver.valid_range(wanted, False) is not None


def check_range(wanted: object, what: str) -> str:
    """A dependency's range.

    Raises:
        InvalidVersion: it is not a semver range.
    """
    if not isinstance(wanted, str) or not is_range(wanted):
        raise InvalidVersion(f"{what}: {wanted!r} is not a semver range")
    return wanted


def best(versions: list[str], wanted: str) -> str | None:
    """The highest of ``versions`` within the range ``wanted``."""
    found = semver.max_satisfying(versions, wanted, False)
    return None if found is None else str(found)


def newest(versions: list[str]) -> str | None:
    """The highest of ``versions`` (prereleases only when there is nothing else)."""
    if not versions:
        return None
    stable = [v for v in versions if not semver.make_semver(v, False).prerelease]
    return str(semver.sort(stable or versions, False)[-1])


def integrity(digest: bytes) -> str:
    """The ``sha512-<base64>`` string of a SHA-512 digest (Subresource Integrity form, as npm uses)."""
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def new_hasher() -> hashlib._Hash:
    return hashlib.sha512()
