"""What every account's view of one database shares: the backend, the loaded models, the sweep clock."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .. import limits
from ..config import Settings
from ..embedding.embedder import DefaultEmbedder, Embedder
from ..store.base import Backend, VectorIndex
from ..types import now_ms
from .ranking import DAY_MS, RankingConfig
from .retrieval import Retriever

#: How often (at most) a process's writes and recalls sweep (:meth:`Shared.sweep_now_and_then`).
SWEEP_SECONDS = 60


@dataclass
class Shared:
    """What every account's view of one database shares: the backend and the loaded models."""

    settings: Settings
    backend: Backend
    ranking: RankingConfig
    embedder_override: Embedder | None = None
    extractor_override: Any = None
    reranker_override: Any = None
    #: When this process last swept expired memories and the old recall log (ms).
    last_sweep: int = 0

    def sweep_now_and_then(self) -> None:
        """Writes and recalls purge what has expired and the recall log past ``limits.RECALL_LOG_DAYS``,
        at most once per ``SWEEP_SECONDS`` in each process (a bounded batch of each)."""
        now = now_ms()
        if now - self.last_sweep >= SWEEP_SECONDS * 1000:
            self.last_sweep = now
            self.backend.memories.purge_expired(now)
            self.backend.memories.prune_recalls(now - limits.RECALL_LOG_DAYS * DAY_MS)

    @cached_property
    def embedder(self) -> Embedder:
        return self.embedder_override or DefaultEmbedder(self.settings.embed_threads)

    @cached_property
    def extractor(self) -> Any:
        if self.extractor_override is not None:
            return self.extractor_override
        from .extraction import extractor_from_settings

        return extractor_from_settings(self.settings)

    @cached_property
    def reranker(self) -> Any:
        if self.reranker_override is not None:
            return self.reranker_override
        from ..embedding.reranker import reranker_from_settings

        return reranker_from_settings(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        embedder = self.embedder
        return self.backend.vector_index(embedder.model_id, embedder.dimensions, threads=self.settings.embed_threads)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.backend.memories, self.index, self.embedder, self.ranking, self.reranker)
