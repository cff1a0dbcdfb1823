"""Local models: the default sentence embedder and the optional cross-encoder reranker."""

from .embedder import DEFAULT_MODEL_ID, Embedder, OnnxEmbedder, default_embedder
from .reranker import OnnxCrossEncoder, Reranker, reranker_from_settings

__all__ = [
    "DEFAULT_MODEL_ID",
    "Embedder",
    "OnnxCrossEncoder",
    "OnnxEmbedder",
    "Reranker",
    "default_embedder",
    "reranker_from_settings",
]
