"""``add_many`` throughput of this checkout against an earlier commit, interleaved in one run.

    .venv/bin/python bench/ingest_vs.py --base c66a6f5 [--texts 512] [--rounds 6]

Issue 12 asks for ``add_many`` at 1.4x its throughput when the issue was filed, on the same texts.
Figures from different days on this shared machine do not compare, so both versions run here, in
turns: the base commit is checked out into a temporary git worktree, and each round starts one
worker process per version (``PYTHONPATH`` pointing at that version's ``src``) that loads the model,
embeds the texts once raw, then times ``add_many`` of the same texts into a fresh home (dedup on,
the default). The order of the two versions alternates every round. Medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {bench!r})
from perf import corpus
from memorylayer.engine import Engine
texts = corpus({texts}, seed={seed})
engine = Engine.open(Path(tempfile.mkdtemp(prefix="ml-ingest-vs-")))
engine.embedder.embed(["warm up"])
start = time.perf_counter()
engine.embedder.embed(texts)
raw = len(texts) / (time.perf_counter() - start)
start = time.perf_counter()
engine.add_many("main", texts)
add = len(texts) / (time.perf_counter() - start)
engine.close()
print(json.dumps({{"raw": raw, "add_many": add}}))
"""


def run_worker(src: Path, texts: int, seed: int) -> dict[str, float]:
    # The perf corpus comes from this checkout's bench/ so both versions store the same texts.
    code = WORKER.format(bench=str(ROOT / "bench"), texts=texts, seed=seed)
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    tree = Path(tempfile.mkdtemp(prefix="ml-base-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base], check=True)
    versions = {"base": tree / "src", "this": ROOT / "src"}
    figures: dict[str, dict[str, list[float]]] = {name: {"raw": [], "add_many": []} for name in versions}
    try:
        for round_ in range(args.rounds):
            order = list(versions) if round_ % 2 == 0 else list(versions)[::-1]
            for name in order:
                # A new seed each round: the same texts for both versions within it, never a re-import.
                result = run_worker(versions[name], args.texts, seed=100 + round_)
                for key, value in result.items():
                    figures[name][key].append(value)
                print(round_, name, json.dumps(result), file=sys.stderr)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    medians = {name: {key: statistics.median(values) for key, values in f.items()} for name, f in figures.items()}
    summary = {
        "base": args.base,
        "texts": args.texts,
        "rounds": args.rounds,
        "medians": medians,
        "add_many_this_vs_base": medians["this"]["add_many"] / medians["base"]["add_many"],
        "add_many_vs_raw": {name: m["add_many"] / m["raw"] for name, m in medians.items()},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
