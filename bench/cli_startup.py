"""CLI start-up: wall time of `memorylayer --help`, `list`, `recall`, `remember` and the SDK import.

Each command runs as a fresh process (what a user or an agent's shell tool pays per call) against a
temporary home holding two memories, and is compared with `python -c pass` (the time Python itself
needs to start) measured in the same run. With `--before SRC` every command also runs with
`PYTHONPATH=SRC` (e.g. an export of an earlier commit), interleaved with the current tree, so load on
the machine falls on both alike. The first round warms the file cache and is not counted.

    git archive main | tar -x -C /tmp/before
    .venv/bin/python bench/cli_startup.py --runs 9 --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "memorylayer")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import memorylayer; memorylayer.Client": [sys.executable, "-c", "import memorylayer; memorylayer.Client"],
    "memorylayer --help": [CLI, "--help"],
    "memorylayer list": [CLI, "list"],
    "memorylayer recall": [CLI, "recall", "how do deploys work?"],
    "memorylayer remember": [CLI, "remember", "RUN", "--key", "bench-note"],
}


def timed(argv: list[str], env: dict[str, str], run: int) -> float:
    argv = [a.replace("RUN", f"bench note {run}") for a in argv]
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def environment(home: Path, source: str | None) -> dict[str, str]:
    env = {**os.environ, "MEMORYLAYER_HOME": str(home)}
    if source:
        env["PYTHONPATH"] = source
    for text in ("Deploys run on merge to main", "The staging database is refreshed nightly"):
        subprocess.run([CLI, "remember", text], env=env, check=True, capture_output=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", help="a source folder (src/) to compare with, run via PYTHONPATH")
    args = parser.parse_args()
    variants = {"after": None, **({"before": args.before} if args.before else {})}
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        envs = {name: environment(Path(folder) / name, src) for name, src in variants.items()}
        for run in range(args.runs + 1):
            for command, argv in COMMANDS.items():
                for name, env in envs.items():
                    elapsed = timed(argv, env, run)
                    if run:
                        samples.setdefault((command, name), []).append(elapsed)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    base = medians[("python -c pass", "after")]
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.runs} runs each, medians in seconds")
    print("| command | before s | after s | before / after | after × python -c pass |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for command in COMMANDS:
        after = medians[(command, "after")]
        before = medians.get((command, "before"))
        ratio = f"{before / after:.2f}" if before else "—"
        shown = f"{before:.3f}" if before else "—"
        print(f"| `{command}` | {shown} | {after:.3f} | {ratio} | {after / base:.1f} |")


if __name__ == "__main__":
    main()
