"""Exact duplicates are found before embedding: stored text and repeated lines cost no model time,
and commands that do not embed never load the model."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from memorylayer.embedding.embedder import DEFAULT_DIMENSIONS, DEFAULT_MODEL_ID, DefaultEmbedder
from memorylayer.engine import Engine


class CountingEmbedder:
    """The real default model, recording every text it is asked to embed."""

    model_id = DEFAULT_MODEL_ID
    dimensions = DEFAULT_DIMENSIONS

    def __init__(self) -> None:
        self.model = DefaultEmbedder(threads=1)
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.model.embed(texts)


def lines(values: list[str]) -> io.StringIO:
    return io.StringIO("".join(json.dumps({"scope": "s", "value": v}) + "\n" for v in values))


def test_add_many_embeds_each_distinct_text_once_and_stored_text_not_at_all(memorylayer_home: Path) -> None:
    counting = CountingEmbedder()
    with Engine.open(memorylayer_home, embedder=counting) as engine:
        values = ["deploys run on merge", "tests run nightly", "deploys run on merge", "tests run nightly"]
        result = engine.add_many("s", values)
        assert sorted(counting.texts) == ["deploys run on merge", "tests run nightly"]
        assert len({m.id for m in result.memories}) == 2
        counting.texts.clear()
        again = engine.add_many("s", [*values, "a new line"])
        assert counting.texts == ["a new line"]
        assert [m.value for m in again.memories if m.id not in {r.id for r in result.memories}] == ["a new line"]
        assert engine.search("new line", scope="s")[0].memory.value == "a new line"


def test_an_append_only_log_embeds_a_repeated_turn_once_but_stores_every_one(memorylayer_home: Path) -> None:
    counting = CountingEmbedder()
    with Engine.open(memorylayer_home, embedder=counting) as engine:
        result = engine.add_many("chat", ["ok", "ok", "ok"], dedup=False)
        assert counting.texts == ["ok"] and len({m.id for m in result.memories}) == 3


def test_re_importing_a_file_embeds_nothing(memorylayer_home: Path) -> None:
    counting = CountingEmbedder()
    values = [f"note {i % 40}: step {i % 40} runs after step {(i + 1) % 40}" for i in range(400)]
    with Engine.open(memorylayer_home, embedder=counting) as engine:
        assert engine.import_jsonl(lines(values)) == 40
        assert len(counting.texts) == 40
        counting.texts.clear()
        assert engine.import_jsonl(lines(values)) == 0
        assert counting.texts == []


def test_commands_that_do_not_embed_never_load_the_model(memorylayer_home: Path, tmp_path: Path) -> None:
    """A fresh process imports a file already stored, lists, gets and forgets without onnxruntime."""
    dump = tmp_path / "dump.jsonl"
    dump.write_text(lines(["one fact", "another fact"]).getvalue(), encoding="utf-8")
    with Engine.open(memorylayer_home) as engine:
        with dump.open(encoding="utf-8") as handle:
            engine.import_jsonl(handle)
    script = f"""
import sys
from memorylayer.engine import Engine
with Engine.open({str(memorylayer_home)!r}) as engine:
    assert engine.import_jsonl(open({str(dump)!r}, encoding="utf-8")) == 0
    page = engine.list(scope="s")
    engine.get(page.memories[0].id)
    assert engine.delete(page.memories[0].id)
    engine.history(page.memories[1].id)
print(sorted(m for m in ("onnxruntime", "tokenizers") if m in sys.modules))
"""
    env = {**os.environ, "MEMORYLAYER_HOME": str(memorylayer_home)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
