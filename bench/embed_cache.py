"""An embedding cache for benchmark runs: each distinct text is embedded by the real model once, ever.

Reruns of bench/locomo.py and bench/facts.py (tuning, ablations) then spend their time ranking, not
embedding. The cache is a file under bench/results/ (ignored by git), keyed by model id and text;
vectors are exactly what the model made, so figures do not change with the cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from memorylayer.embedding.embedder import DefaultEmbedder

DEFAULT_PATH = Path(__file__).resolve().parent / "results" / "embed_cache"


class CachedEmbedder:
    """The default embedder behind a persistent text → vector cache (call :meth:`save` when done)."""

    def __init__(self, path: Path = DEFAULT_PATH, threads: int = 2) -> None:
        self._model = DefaultEmbedder(threads)
        self.model_id, self.dimensions = self._model.model_id, self._model.dimensions
        self._path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        index, data = path.with_suffix(".json"), path.with_suffix(".npy")
        if index.is_file() and data.is_file():
            keys = json.loads(index.read_text(encoding="utf-8"))
            if keys.get("model") == self.model_id:
                matrix = np.load(data)
                self._vectors = dict(zip(keys["texts"], matrix, strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._model.embed(missing), strict=True):
                self._vectors[self._key(text)] = vector
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        np.save(self._path.with_suffix(".npy"), np.stack([self._vectors[k] for k in keys]))
        self._path.with_suffix(".json").write_text(
            json.dumps({"model": self.model_id, "texts": keys}), encoding="utf-8"
        )
        self._dirty = False
