"""The one error tree of MemoryLayer.

Every failure that reaches a user is one of these classes. Each carries a stable ``code`` that
appears unchanged in the HTTP error envelope, the CLI's ``--json`` error (and its exit code) and
the MCP tool error text::

    MemoryLayerError (error)
    ├── InvalidRequest (invalid_request)           400, exit 2
    │   ├── PayloadTooLarge (payload_too_large)    413
    │   ├── InvalidPackageName (invalid_package_name)
    │   └── InvalidVersion (invalid_version)
    ├── NotFound (not_found)                       404, exit 3
    │   ├── NoMatchingVersion (no_matching_version)
    │   └── VersionYanked (version_yanked)         410
    ├── Unauthorized (unauthorized)                401, exit 4
    │   ├── KeyExpired (key_expired)
    │   └── InvalidCode (invalid_code)
    ├── Forbidden (forbidden)                      403, exit 4
    │   ├── InsufficientScope (insufficient_scope)
    │   ├── PlanRequired (plan_required)
    │   ├── QuotaExceeded (quota_exceeded)
    │   ├── ContainerLimitExceeded (container_limit_exceeded)
    │   ├── CacheEntryLimit (cache_entry_limit)
    │   ├── ShareLinkExpired (share_link_expired)
    │   └── ShareLinkUsedUp (share_link_used_up)
    ├── Conflict (conflict)                        409
    │   ├── ContainerNameExists (container_name_exists)
    │   ├── AlreadyClaimed (already_claimed)
    │   ├── IdempotencyConflict (idempotency_conflict)
    │   ├── IdempotencyInProgress (idempotency_in_progress)
    │   ├── VersionExists (version_exists)
    │   ├── ScopeTaken (scope_taken)
    │   ├── LastAdmin (last_admin)
    │   ├── DependencyCycle (dependency_cycle)
    │   └── Unsatisfiable (unsatisfiable)           rules (and facts) that cannot all hold
    ├── CacheExpired (cache_expired)               410
    ├── RateLimited (rate_limited)                 429 (carries retry_after seconds)
    │   └── BudgetExceeded (budget_exceeded)       the key's monthly budget of an operation is spent
    ├── ExtractionFailed (extraction_failed)       500
    ├── NotConfigured (not_configured)             501
    ├── ModelMismatch (model_mismatch)             409: stored vectors need `memorylayer reindex`
    ├── IntegrityError (integrity_error)           exit 6
    │   └── UnsafeArchive (unsafe_archive)         400: a package tarball that could escape or explode
    ├── StorageError (storage_error)               503, exit 7: the database cannot be used as it is
    │   ├── StorageReadOnly (storage_read_only)    the home or database file is not writable
    │   ├── StorageFull (storage_full)             the disk (or the database's size cap) is full
    │   ├── StorageBusy (storage_busy)             another writer held the lock past the busy timeout
    │   └── StorageCorrupt (storage_corrupt)       not a MemoryLayer database, or a damaged one
    ├── NetworkError (network_error)               client side, status 0, exit 5
    │   └── Timeout (timeout)
    ├── AddressInUse (address_in_use)              exit 8: `serve` cannot listen on its host and port
    └── InternalError (internal_error)             500
"""

from __future__ import annotations

from typing import Any


class MemoryLayerError(Exception):
    """Base class; catch this to handle any MemoryLayer failure."""

    code = "error"
    status = 500
    exit_code = 1

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or self.code).strip().splitlines()[0]
        super().__init__(self.message)
        self.details = details
        if status is not None:
            self.status = status
        self.request_id = request_id

    def to_dict(self) -> dict[str, Any]:
        """The error as the ``error`` object of the wire envelope (without ``request_id``)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidRequest(MemoryLayerError):
    """The input is malformed, out of range or of the wrong type."""

    code = "invalid_request"
    status = 400
    exit_code = 2


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than the server accepts."""

    code = "payload_too_large"
    status = 413


class InvalidPackageName(InvalidRequest):
    """A package name that is not ``@scope/name`` in lowercase letters, digits, ``-``, ``.`` and ``_``."""

    code = "invalid_package_name"


class InvalidVersion(InvalidRequest):
    """A version that is not semver (``1.2.3``), or a range or tag that cannot be read."""

    code = "invalid_version"


class NotFound(MemoryLayerError):
    """The memory, package or resource does not exist or is not visible to the caller."""

    code = "not_found"
    status = 404
    exit_code = 3


class NoMatchingVersion(NotFound):
    """No published, installable version satisfies the requested range or tag."""

    code = "no_matching_version"


class VersionYanked(NotFound):
    """The version was yanked: it shows in ``info`` but cannot be installed."""

    code = "version_yanked"
    status = 410


class Unauthorized(MemoryLayerError):
    """The credential is missing, malformed, unknown or revoked."""

    code = "unauthorized"
    status = 401
    exit_code = 4


class KeyExpired(Unauthorized):
    """The API key is past its expiry."""

    code = "key_expired"


class InvalidCode(Unauthorized):
    """The verification code is wrong or expired."""

    code = "invalid_code"


class Forbidden(MemoryLayerError):
    """The credential is valid but may not do this."""

    code = "forbidden"
    status = 403
    exit_code = 4


class InsufficientScope(Forbidden):
    """The API key lacks a scope the operation requires."""

    code = "insufficient_scope"


class PlanRequired(Forbidden):
    """The operation needs a higher plan tier."""

    code = "plan_required"


class QuotaExceeded(Forbidden):
    """The account's memory limit is reached."""

    code = "quota_exceeded"


class ContainerLimitExceeded(Forbidden):
    """The account's plan allows no more containers."""

    code = "container_limit_exceeded"


class CacheEntryLimit(Forbidden):
    """The cache already holds its maximum number of entries."""

    code = "cache_entry_limit"


class ShareLinkExpired(Forbidden):
    """The share link is past its expiry (or was revoked)."""

    code = "share_link_expired"


class ShareLinkUsedUp(Forbidden):
    """The share link has been used as many times as it allows."""

    code = "share_link_used_up"


class Conflict(MemoryLayerError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class ContainerNameExists(Conflict):
    """A container with this name already exists."""

    code = "container_name_exists"


class AlreadyClaimed(Conflict):
    """The cache has already been claimed."""

    code = "already_claimed"


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was already used with a different request body."""

    code = "idempotency_conflict"


class IdempotencyInProgress(Conflict):
    """A request with this Idempotency-Key is still running; retry it later to get its answer."""

    code = "idempotency_in_progress"


class VersionExists(Conflict):
    """This version of the package is already published; versions are immutable (bump it)."""

    code = "version_exists"


class ScopeTaken(Conflict):
    """A user or an org already holds this scope."""

    code = "scope_taken"


class LastAdmin(Conflict):
    """The org would be left without an admin."""

    code = "last_admin"


class DependencyCycle(Conflict):
    """The package's dependencies lead back to a package already being installed."""

    code = "dependency_cycle"


class Unsatisfiable(Conflict):
    """A domain's rules, or the facts bound to it, cannot all hold; ``details`` names them."""

    code = "unsatisfiable"


class CacheExpired(MemoryLayerError):
    """The cache's time to live has elapsed."""

    code = "cache_expired"
    status = 410


class RateLimited(MemoryLayerError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class BudgetExceeded(RateLimited):
    """The API key used up this month's budget of the operation; it resets at the start of next month."""

    code = "budget_exceeded"


class ExtractionFailed(MemoryLayerError):
    """The extraction model could not be reached or gave unusable output."""

    code = "extraction_failed"
    status = 500


class NotConfigured(MemoryLayerError):
    """The feature needs configuration this installation does not have."""

    code = "not_configured"
    status = 501


class ModelMismatch(MemoryLayerError):
    """Stored vectors were made by another embedding model; run `memorylayer reindex`."""

    code = "model_mismatch"
    status = 409


class IntegrityError(MemoryLayerError):
    """A checksum, signature or decryption check failed; nothing was written."""

    code = "integrity_error"
    exit_code = 6


class UnsafeArchive(IntegrityError):
    """A package tarball with links, paths outside the package, too many or too large members."""

    code = "unsafe_archive"
    status = 400


class StorageError(MemoryLayerError):
    """The database cannot be used as it is; the message names the file and what to do."""

    code = "storage_error"
    status = 503
    exit_code = 7


class StorageReadOnly(StorageError):
    """The MemoryLayer home or its database file is not writable."""

    code = "storage_read_only"


class StorageFull(StorageError):
    """The disk holding the database is full."""

    code = "storage_full"


class StorageBusy(StorageError):
    """Another process held the database's write lock for longer than the busy timeout."""

    code = "storage_busy"


class StorageCorrupt(StorageError):
    """The database file is not a MemoryLayer database, or it is damaged."""

    code = "storage_corrupt"


class NetworkError(MemoryLayerError):
    """The server could not be reached or answered something that is not the protocol."""

    code = "network_error"
    status = 0
    exit_code = 5


class Timeout(NetworkError):
    """The request did not complete within its timeout."""

    code = "timeout"


class AddressInUse(MemoryLayerError):
    """The server cannot listen on its host and port: another process holds the port."""

    code = "address_in_use"
    exit_code = 8


class InternalError(MemoryLayerError):
    """An unexpected failure inside MemoryLayer."""

    code = "internal_error"
    status = 500


def error_classes() -> dict[str, type[MemoryLayerError]]:
    """Every error class by its code (used by the SDK to map wire errors back to classes)."""
    found: dict[str, type[MemoryLayerError]] = {}
    pending: list[type[MemoryLayerError]] = [MemoryLayerError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found
