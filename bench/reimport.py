"""Importing lines already stored, and lines that repeat: what exact-duplicate detection saves.

Three timings per tree, each a fresh process on a fresh home:
- `memorylayer import` of 5,000 distinct lines into an empty home (everything is embedded);
- the same `memorylayer import` again (everything is already stored: nothing should be embedded);
- `memorylayer import` of 5,000 lines that repeat 50 texts into an empty home (50 should be embedded).
With `--before SRC` the same runs use `PYTHONPATH=SRC` (an export of an earlier commit).

    git archive main | tar -x -C /tmp/before
    .venv/bin/python bench/reimport.py --before /tmp/before/src
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

CLI = str(Path(sys.executable).parent / "memorylayer")


def import_once(path: Path, home: Path, source: str | None) -> tuple[float, int]:
    env = {**os.environ, "MEMORYLAYER_HOME": str(home), **({"PYTHONPATH": source} if source else {})}
    start = time.perf_counter()
    done = subprocess.run([CLI, "import", str(path), "--json"], env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, json.loads(done.stdout)["imported"]


def dump(path: Path, values: list[str]) -> Path:
    path.write_text("".join(json.dumps({"scope": "bench", "value": v}) + "\n" for v in values), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--before", help="a source folder (src/) to compare with, run via PYTHONPATH")
    args = parser.parse_args()
    rows: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        note = "Note {i}: the build step {a} runs after step {b} on runner {c}."
        distinct = dump(
            tmp / "distinct.jsonl",
            [note.format(i=i, a=i % 97, b=i % 89, c=i % 13) for i in range(args.lines)],
        )
        repeated = dump(tmp / "repeated.jsonl", [note.format(i=i % 50, a=1, b=2, c=3) for i in range(args.lines)])
        for name, source in {"after": None, **({"before": args.before} if args.before else {})}.items():
            home = tmp / name
            steps = {
                f"import {args.lines} distinct lines into an empty home": (distinct, home / "a"),
                "the same import again (all already stored)": (distinct, home / "a"),
                f"import {args.lines} lines repeating 50 texts into an empty home": (repeated, home / "b"),
            }
            for step, (path, step_home) in steps.items():
                seconds, written = import_once(path, step_home, source)
                rows.setdefault(step, {})[name] = f"{seconds:.1f} s ({written} written)"
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("| step | before | after |")
    print("| --- | ---: | ---: |")
    for step, cells in rows.items():
        print(f"| {step} | {cells.get('before', '—')} | {cells['after']} |")


if __name__ == "__main__":
    main()
