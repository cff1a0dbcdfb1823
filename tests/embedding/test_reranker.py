"""The cross-encoder rerank stage, run against tiny ONNX models and a WordPiece tokenizer built here.

Each model computes a known function of its inputs, so a score tells what the model was fed:
  overlap        logit = 2 * (passage tokens equal to some query token) - 1, segments read from token types
  passage_len    logit = (tokens with token type 1) / 16 - 3
  batch_size     logit = (rows in the batch) / 16 - 3
  padded_len     logit = (sequence length of the batch) / 16 - 3
  attended_len   logit = (tokens with attention mask 1) / 16 - 3, and no token_type_ids input
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from memorylayer.config import Settings
from memorylayer.embedding import OnnxCrossEncoder, reranker_from_settings
from memorylayer.errors import NotConfigured

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
WORDS = "cat dog bird fish sat on the mat runs fast slow red blue green tree house".split()
FIRST_WORD_ID = len(SPECIALS)


def write_tokenizer(directory: Path) -> Tokenizer:
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    return tokenizer


def _const(name: str, value: float | int | list[int]) -> onnx.NodeProto:
    if isinstance(value, list):
        tensor = helper.make_tensor(name, TensorProto.INT64, [len(value)], value)
    elif isinstance(value, int):
        tensor = helper.make_tensor(name, TensorProto.INT64, [], [value])
    else:
        tensor = helper.make_tensor(name, TensorProto.FLOAT, [], [value])
    return helper.make_node("Constant", [], [name], value=tensor)


def _logit_nodes(kind: str) -> list[onnx.NodeProto]:
    """Nodes that compute ``logit`` (shape [batch]) from the three inputs."""
    n = helper.make_node
    count_to_logit = [
        _const("sixteen", 16.0),
        _const("three", 3.0),
        n("Div", ["count", "sixteen"], ["scaled"]),
        n("Sub", ["scaled", "three"], ["logit"]),
    ]
    batch_shape = [n("Shape", ["input_ids"], ["n_shape"], start=0, end=1)]
    if kind == "overlap":
        return [
            _const("last_special", FIRST_WORD_ID - 1),
            _const("one_i", 1),
            _const("zero_i", 0),
            _const("two", 2.0),
            _const("one", 1.0),
            _const("axis1", [1]),
            _const("axis2", [2]),
            n("Greater", ["input_ids", "last_special"], ["is_word"]),
            n("Equal", ["attention_mask", "one_i"], ["attended"]),
            n("And", ["is_word", "attended"], ["real"]),
            n("Equal", ["token_type_ids", "zero_i"], ["is_query"]),
            n("Equal", ["token_type_ids", "one_i"], ["is_passage"]),
            n("And", ["real", "is_query"], ["query_mask"]),
            n("And", ["real", "is_passage"], ["passage_mask"]),
            n("Unsqueeze", ["input_ids", "axis2"], ["ids_rows"]),
            n("Unsqueeze", ["input_ids", "axis1"], ["ids_cols"]),
            n("Equal", ["ids_rows", "ids_cols"], ["same"]),  # [batch, passage pos, query pos]
            n("Unsqueeze", ["query_mask", "axis1"], ["query_cols"]),
            n("And", ["same", "query_cols"], ["matches"]),
            n("Cast", ["matches"], ["matches_f"], to=TensorProto.FLOAT),
            n("ReduceMax", ["matches_f"], ["hit"], axes=[2], keepdims=0),
            n("Cast", ["passage_mask"], ["passage_f"], to=TensorProto.FLOAT),
            n("Mul", ["hit", "passage_f"], ["passage_hits"]),
            n("ReduceSum", ["passage_hits", "axis1"], ["count"], keepdims=0),
            n("Mul", ["count", "two"], ["doubled"]),
            n("Sub", ["doubled", "one"], ["logit"]),
        ]
    if kind == "passage_len":
        return [
            _const("one_i", 1),
            n("Equal", ["token_type_ids", "one_i"], ["is_passage"]),
            n("Equal", ["attention_mask", "one_i"], ["attended"]),
            n("And", ["is_passage", "attended"], ["passage_mask"]),
            n("Cast", ["passage_mask"], ["passage_f"], to=TensorProto.FLOAT),
            _const("axis1", [1]),
            n("ReduceSum", ["passage_f", "axis1"], ["count"], keepdims=0),
            *count_to_logit,
        ]
    if kind == "attended_len":
        return [
            n("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
            _const("axis1", [1]),
            n("ReduceSum", ["mask_f", "axis1"], ["count"], keepdims=0),
            *count_to_logit,
        ]
    if kind in ("batch_size", "padded_len"):
        start = 0 if kind == "batch_size" else 1
        return [
            *batch_shape,
            n("Shape", ["input_ids"], ["dim"], start=start, end=start + 1),
            n("Cast", ["dim"], ["dim_f"], to=TensorProto.FLOAT),
            n("Expand", ["dim_f", "n_shape"], ["count"]),
            *count_to_logit,
        ]
    raise ValueError(kind)


def write_model(directory: Path, kind: str, *, output: str = "n1", token_types: bool = True) -> Path:
    """A cross-encoder whose logit is the ``kind`` function; ``output`` is "n", "n1" or "n2"."""
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if token_types else [])
    inputs = [helper.make_tensor_value_info(x, TensorProto.INT64, ["batch", "seq"]) for x in names]
    nodes = _logit_nodes(kind)
    if output == "n":
        nodes.append(helper.make_node("Identity", ["logit"], ["logits"]))
        out_shape: list[str | int] = ["batch"]
    elif output == "n1":
        nodes += [_const("out_axis", [1]), helper.make_node("Unsqueeze", ["logit", "out_axis"], ["logits"])]
        out_shape = ["batch", 1]
    else:
        # Column 0 is the "irrelevant" class; a reader of the wrong column gets the order reversed.
        nodes += [
            _const("out_axis", [1]),
            helper.make_node("Neg", ["logit"], ["negated"]),
            helper.make_node("Unsqueeze", ["negated", "out_axis"], ["irrelevant"]),
            helper.make_node("Unsqueeze", ["logit", "out_axis"], ["relevant"]),
            helper.make_node("Concat", ["irrelevant", "relevant"], ["logits"], axis=1),
        ]
        out_shape = ["batch", 2]
    graph = helper.make_graph(
        nodes,
        f"tiny_{kind}",
        inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(directory / "model.onnx"))
    return directory


@pytest.fixture()
def make_reranker(tmp_path: Path):
    def make(kind: str, *, output: str = "n1", token_types: bool = True, **options: int) -> OnnxCrossEncoder:
        directory = tmp_path / f"{kind}-{output}-{token_types}"
        write_model(directory, kind, output=output, token_types=token_types)
        write_tokenizer(directory)
        return OnnxCrossEncoder(directory, threads=1, **options)

    return make


def decode(scores: np.ndarray) -> np.ndarray:
    """The integer a *_len / batch_size model encoded into each score."""
    logits = np.log(scores.astype(np.float64) / (1.0 - scores.astype(np.float64)))
    return np.rint((logits + 3.0) * 16.0).astype(int)


def token_count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def passages_of_varied_length(count: int) -> list[str]:
    return [" ".join(WORDS[(7 * i + j) % len(WORDS)] for j in range(1 + (5 * i) % 17)) for i in range(count)]


@pytest.mark.parametrize("output", ["n", "n1", "n2"])
def test_scores_follow_query_passage_overlap_in_the_order_given(make_reranker, output: str) -> None:
    reranker = make_reranker("overlap", output=output)
    passages = ["dog bird", "the cat sat on the mat", "cat cat cat", "red fish", "cat runs"]

    scores = reranker.score("the cat", passages)

    # Matches of the passage's tokens against "the cat": 0, 3, 3, 0, 1.
    logits = np.array([0, 3, 3, 0, 1], dtype=np.float64) * 2 - 1
    expected = 1.0 / (1.0 + np.exp(-logits))
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert list(np.argsort(-scores, kind="stable")) == [1, 2, 4, 0, 3]


def test_scores_are_probabilities_even_for_extreme_logits(make_reranker) -> None:
    reranker = make_reranker("overlap")
    many_matches = " ".join(["cat"] * 400)

    scores = reranker.score("cat", ["dog", many_matches, "cat"])

    assert np.all((scores >= 0.0) & (scores <= 1.0))
    assert scores[1] == pytest.approx(1.0)
    assert scores[0] < scores[2] < scores[1]


def test_query_is_segment_zero_and_passage_is_segment_one(make_reranker, tmp_path: Path) -> None:
    reranker = make_reranker("passage_len")
    tokenizer = write_tokenizer(tmp_path)
    passages = ["cat", "dog sat on the mat", "red blue green tree house fish"]

    for query in ["bird", "the slow red bird runs fast on the mat"]:
        counts = decode(reranker.score(query, passages))
        # Every passage token plus its closing [SEP] has token type 1; nothing of the query does.
        assert list(counts) == [token_count(tokenizer, p) + 1 for p in passages]


def test_inputs_the_model_does_not_declare_are_not_fed(make_reranker) -> None:
    reranker = make_reranker("attended_len", token_types=False)

    counts = decode(reranker.score("cat", ["dog", "dog bird fish"]))

    # [CLS] cat [SEP] passage [SEP]
    assert list(counts) == [5, 7]


def test_batches_give_the_same_scores_as_one_pass(make_reranker) -> None:
    passages = passages_of_varied_length(70)
    small = make_reranker("overlap", batch_size=32)
    large = make_reranker("overlap", output="n2", batch_size=100)

    batched = small.score("the red cat runs", passages)
    single = large.score("the red cat runs", passages)

    np.testing.assert_array_equal(batched, single)
    assert len(set(batched.tolist())) > 3


def test_the_model_never_sees_more_than_batch_size_rows(make_reranker) -> None:
    reranker = make_reranker("batch_size", batch_size=32)

    rows = decode(reranker.score("cat", passages_of_varied_length(70)))

    assert Counter(rows.tolist()) == {32: 64, 6: 6}


def test_each_batch_is_padded_only_to_its_longest_pair(make_reranker, tmp_path: Path) -> None:
    reranker = make_reranker("padded_len", batch_size=32, max_tokens=512)
    tokenizer = write_tokenizer(tmp_path)
    query = "cat"
    passages = passages_of_varied_length(70)
    pair_len = [token_count(tokenizer, query) + token_count(tokenizer, p) + 3 for p in passages]

    alone = decode(reranker.score(query, ["dog"]))
    one_batch = decode(make_reranker("padded_len", batch_size=100).score(query, passages))
    batched = decode(reranker.score(query, passages))

    assert list(alone) == [token_count(tokenizer, query) + 4]
    assert set(one_batch.tolist()) == {max(pair_len)}
    assert all(pair_len[i] <= batched[i] <= max(pair_len) for i in range(len(passages)))
    assert len(set(batched.tolist())) <= 3
    assert min(batched) < max(pair_len)


def test_long_queries_and_passages_are_truncated_to_max_tokens(make_reranker) -> None:
    reranker = make_reranker("padded_len", max_tokens=16)
    long_text = " ".join(WORDS * 10)

    lengths = decode(reranker.score(long_text, [long_text, "cat", long_text[:30]]))

    assert set(lengths.tolist()) == {16}


def test_no_passages_gives_no_scores(make_reranker) -> None:
    scores = make_reranker("overlap").score("cat", [])

    assert scores.shape == (0,)
    assert scores.dtype == np.float32


def test_model_id_names_the_directory(make_reranker) -> None:
    reranker = make_reranker("overlap")

    assert reranker.model_id.startswith("overlap-n1-True@")


@pytest.mark.parametrize("missing", ["model.onnx", "tokenizer.json"])
def test_a_directory_without_model_or_tokenizer_is_not_configured(tmp_path: Path, missing: str) -> None:
    directory = write_model(tmp_path / "cross-encoder", "overlap")
    write_tokenizer(directory)
    (directory / missing).unlink()

    with pytest.raises(NotConfigured, match=missing):
        OnnxCrossEncoder(directory)


def test_settings_without_reranker_path_disable_reranking(tmp_path: Path) -> None:
    assert reranker_from_settings(Settings(home=tmp_path)) is None


def test_settings_with_reranker_path_load_the_cross_encoder(tmp_path: Path) -> None:
    directory = write_model(tmp_path / "ms-marco-tiny", "overlap")
    write_tokenizer(directory)

    reranker = reranker_from_settings(Settings(home=tmp_path, reranker_path=str(directory)))

    assert reranker is not None
    assert reranker.model_id.startswith("ms-marco-tiny@")
    scores = reranker.score("cat", ["dog", "cat"])
    assert scores[1] > scores[0]


def test_settings_pointing_at_an_empty_directory_are_not_configured(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured, match="reranker_path"):
        reranker_from_settings(Settings(home=tmp_path, reranker_path=str(tmp_path)))
