"""The optional rerank stage: a cross-encoder that reads a query and a passage together.

Nothing ships with the package; a user points ``reranker_path`` at a directory holding a BERT-style
cross-encoder exported to ONNX (``model.onnx``) and its ``tokenizer.json``. The model sees
``[CLS] query [SEP] passage [SEP]`` with token types 0 and 1 and answers one relevance logit.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from ..errors import InvalidRequest, NotConfigured
from .embedder import encode_batch, load_tokenizer, session_options, sha256_file

if TYPE_CHECKING:
    from ..config import Settings

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class Reranker(Protocol):
    """Scores passages against a query; ``model_id`` names the model that does it."""

    model_id: str

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        """One float32 score in [0, 1] per passage, in the order given; higher is more relevant."""
        ...


class OnnxCrossEncoder:
    """A cross-encoder run by onnxruntime: BERT pair inputs in, ``sigmoid(logit)`` out."""

    def __init__(self, model_dir: Path, *, threads: int = 2, batch_size: int = 32, max_tokens: int = 512) -> None:
        """Load ``model_dir/model.onnx`` and ``model_dir/tokenizer.json``.

        Raises:
            NotConfigured: the directory or one of the two files is missing.
            InvalidRequest: ``batch_size`` or ``max_tokens`` is not positive.
        """
        if batch_size < 1 or max_tokens < 1:
            raise InvalidRequest("reranker batch_size and max_tokens must be positive")
        model_path, tokenizer_path = model_dir / MODEL_FILE, model_dir / TOKENIZER_FILE
        missing = [p.name for p in (model_path, tokenizer_path) if not p.is_file()]
        if missing:
            raise NotConfigured(
                f"reranker directory {model_dir} lacks {' and '.join(missing)}; point reranker_path at a "
                f"directory holding a cross-encoder {MODEL_FILE} and {TOKENIZER_FILE}, or leave it empty"
            )
        # The directory name alone is often just "model"; the hash prefix tells two exports apart.
        self.model_id = f"{model_dir.resolve().name}@{sha256_file(model_path)[:12]}"
        self.batch_size = batch_size
        self._tokenizer = load_tokenizer(tokenizer_path, max_tokens)
        # Trim whichever side is longer, so neither a long query nor a long passage makes encoding fail.
        self._tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
        import onnxruntime as ort

        self._session = ort.InferenceSession(
            str(model_path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        # onnxruntime sessions are thread-safe, but the tokenizer's padding state is shared.
        self._lock = threading.Lock()

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        # Sorting by length keeps padding small when the passages are cut into batches.
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        out = np.empty(len(passages), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._score_batch(query, [passages[i] for i in chunk])
        return out

    def _score_batch(self, query: str, passages: list[str]) -> np.ndarray:
        pairs = [(query, passage) for passage in passages]
        with self._lock:
            # encode_batch hands its list straight to the tokenizer, which takes (A, B) pairs too.
            inputs = encode_batch(self._tokenizer, cast("list[str]", pairs))
        feeds = {name: value for name, value in inputs.items() if name in self._input_names}
        logits = np.asarray(self._session.run(None, feeds)[0], dtype=np.float64)
        # (n,) or (n, 1) is a relevance logit; (n, 2) is a two-class head whose last column is "relevant".
        logits = logits.reshape(len(passages), -1)[:, -1]
        # The tanh form of the sigmoid cannot overflow, however large the logit.
        return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)


def reranker_from_settings(settings: Settings) -> Reranker | None:
    """The configured cross-encoder, or None when ``reranker_path`` is empty.

    Raises:
        NotConfigured: ``reranker_path`` is set but lacks ``model.onnx`` or ``tokenizer.json``.
    """
    if not settings.reranker_path:
        return None
    return OnnxCrossEncoder(Path(settings.reranker_path).expanduser(), threads=settings.embed_threads)
