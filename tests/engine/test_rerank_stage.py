"""The rerank stage inside the engine, with a tiny cross-encoder the test builds (no weights ship)."""

from __future__ import annotations

from pathlib import Path

from embedding.test_reranker import write_model, write_tokenizer
from memorylayer.config import Settings
from memorylayer.engine import Engine


def test_a_configured_cross_encoder_reorders_the_head_of_the_list(tmp_path: Path, memorylayer_home: Path) -> None:
    model_dir = tmp_path / "cross-encoder"
    write_model(model_dir, "overlap")
    write_tokenizer(model_dir)
    engine = Engine.open(settings=Settings.load(home=memorylayer_home, reranker_path=str(model_dir)))
    engine.add_many("s", ["the red house", "the cat sat on the mat", "a dog runs fast", "blue bird in the tree"])
    hits = engine.search("cat mat", scope="s", top_k=4)
    assert hits[0].memory.value == "the cat sat on the mat"
    assert all("rerank" in h.signals for h in hits)
    assert hits[0].signals["rerank"] > max(h.signals["rerank"] for h in hits[1:])
    result = engine.recall("s", "cat mat", threshold="permissive")
    assert result.ranking.strategy == "semantic" and result.ranking.signals[-1] == "rerank"
    assert result.memories[0].value == "the cat sat on the mat"
    engine.close()


def test_without_a_cross_encoder_the_stage_is_skipped(engine: Engine) -> None:
    engine.add("s", "the cat sat on the mat", extract=False)
    hit = engine.search("cat", scope="s")[0]
    assert "rerank" not in hit.signals
    ranking = engine.recall("s", "cat").ranking
    assert ranking.strategy == "semantic" and "rerank" not in ranking.signals
