"""The module-level ``memory`` client, like the TypeScript SDK's ``memory`` singleton."""

from __future__ import annotations

from ._base import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_BACKOFF, DEFAULT_TIMEOUT, SyncHTTPClient
from ._sync import Client


class DefaultClient(Client):
    """A ``Client`` that can be reconfigured in place.

    Unconfigured, it reads ``MEMORYLAYER_API_KEY`` / ``MEMORYLAYER_BASE_URL`` (or the ``WITHMEMORY_``
    names) at each request, so ``from memorylayer.client import memory`` works before the key is set.
    """

    def configure(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        http_client: SyncHTTPClient | None = None,
    ) -> None:
        """Replace the whole configuration (registered defaults included), as ``memory.configure``."""
        self.close()
        Client.__init__(
            self,
            api_key,
            base_url=base_url,
            client_id=client_id,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            http_client=http_client,
        )


memory = DefaultClient()
