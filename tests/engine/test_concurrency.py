"""Several real processes writing one SQLite home at once lose nothing and never expose half a write."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WRITER = textwrap.dedent(
    """
    import sys
    from memorylayer.engine import Engine
    home, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = Engine.open(home)
    for i in range(n):
        engine.add("shared", f"writer {name} stored fact number {i} about topic {name}{i}", extract=False)
        engine.add("shared", f"{name} value {i}", key=f"key-{name}")
        if i % 5 == 0:
            engine.add_many("shared", [f"batch {name} {i} item {j}" for j in range(3)], dedup=False)
    engine.close()
    """
)

READER = textwrap.dedent(
    """
    import json, sys, time
    from memorylayer.engine import Engine
    home, rounds = sys.argv[1], int(sys.argv[2])
    engine = Engine.open(home)
    problems, seen = [], 0
    for _ in range(rounds):
        for memory in engine.iter_all(scope="shared"):
            seen += 1
            if memory.model is None or not memory.value:
                problems.append(memory.id)
        for hit in engine.search("stored fact number", scope="shared", top_k=5):
            if hit.memory.model is None:
                problems.append(hit.memory.id)
    print(json.dumps({"problems": problems, "seen": seen}))
    """
)


def test_parallel_writers_lose_nothing_and_readers_never_see_half_a_memory(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    writer, reader = tmp_path / "writer.py", tmp_path / "reader.py"
    writer.write_text(WRITER, encoding="utf-8")
    reader.write_text(READER, encoding="utf-8")
    writers = [
        subprocess.Popen([sys.executable, str(writer), str(home), name, "20"], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b", "c")
    ]
    watcher = subprocess.Popen(
        [sys.executable, str(reader), str(home), "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for process in writers:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    out, err = watcher.communicate(timeout=240)
    assert watcher.returncode == 0, err
    assert json.loads(out)["problems"] == []

    from memorylayer.engine import Engine

    engine = Engine.open(home)
    values = {m.value for m in engine.iter_all(scope="shared")}
    for name in ("a", "b", "c"):
        for i in range(20):
            assert f"writer {name} stored fact number {i} about topic {name}{i}" in values
        assert engine.get_key("shared", f"key-{name}").value == f"{name} value 19"
        assert len(engine.history(scope="shared", key=f"key-{name}")) == 19
    # 3 writers x (20 facts + 1 keyed + 4 batches of 3)
    assert engine.count("shared") == 3 * (20 + 1 + 12)
    hits = engine.search("topic b7", scope="shared", top_k=3)
    assert any("topic b7" in h.memory.value for h in hits)
    engine.close()


def test_searches_from_several_threads_find_what_each_finds_alone(tmp_path: Path) -> None:
    # Overlapping searches embed on a one-thread session of their own (OnnxEmbedder.serving): the
    # hits and their scores are the ones a search alone gets.
    from concurrent.futures import ThreadPoolExecutor

    from memorylayer.engine import Engine

    engine = Engine.open(tmp_path)
    engine.add_many("notes", [f"the {topic} team owns service number {n}" for topic in TOPICS for n in range(5)])
    queries = [f"who owns the {topic} service?" for topic in TOPICS] * 4

    def hits(query: str) -> list[tuple[str, float]]:
        return [(h.memory.id, h.score) for h in engine.search(query, scope="notes", top_k=3)]

    alone = [hits(q) for q in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(hits, queries))
    engine.close()
    assert [[i for i, _ in h] for h in together] == [[i for i, _ in h] for h in alone]
    for mine, theirs in zip(together, alone, strict=True):
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], abs=1e-4)
    assert all(len(h) == 3 for h in alone)


TOPICS = ["billing", "search", "payments", "identity", "storage", "routing"]
