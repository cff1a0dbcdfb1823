"""Re-importing a file already imported: 5,000 JSON Lines whose memories are all stored already.

Times `memorylayer import` of the same file twice into a fresh home (the second run adds nothing) and
`Engine.add_many` of 5,000 values already stored, each in one process run.

    .venv/bin/python bench/reimport.py [--lines 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ADD_MANY = """
import sys, time
from memorylayer.engine import Engine
values = [line.rstrip("\\n") for line in open(sys.argv[1], encoding="utf-8")]
engine = Engine.open()
engine.add_many("bench", values)
start = time.perf_counter()
result = engine.add_many("bench", values)
print(time.perf_counter() - start, len(result.memories) - len(result.unchanged))
"""


def import_once(path: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "memorylayer"), "import", str(path), "--json"], env=env, check=True, capture_output=True, text=True
    )
    return time.perf_counter() - start, json.loads(done.stdout)["imported"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        values = [
            f"Note {i}: the build step {i % 97} runs after step {i % 89} on runner {i % 13}." for i in range(args.lines)
        ]
        dump = tmp / "dump.jsonl"
        dump.write_text("".join(json.dumps({"scope": "bench", "value": v}) + "\n" for v in values), encoding="utf-8")
        (tmp / "values.txt").write_text("".join(v + "\n" for v in values), encoding="utf-8")
        env = {**os.environ, "MEMORYLAYER_HOME": str(tmp / "home")}
        first, written = import_once(dump, env)
        again, rewritten = import_once(dump, env)
        env_many = {**os.environ, "MEMORYLAYER_HOME": str(tmp / "many")}
        out = subprocess.run(
            [sys.executable, "-c", ADD_MANY, str(tmp / "values.txt")],
            env=env_many,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.lines} lines")
    print("| step | s | memories written |")
    print("| --- | ---: | ---: |")
    print(f"| `memorylayer import` into an empty home | {first:.1f} | {written} |")
    print(f"| the same `memorylayer import` again | {again:.1f} | {rewritten} |")
    print(f"| `Engine.add_many` of values already stored (in process) | {float(out[0]):.1f} | {out[1]} |")


if __name__ == "__main__":
    main()
