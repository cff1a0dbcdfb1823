"""CLI start-up: wall time of `memorylayer --help`, `list`, `recall`, `remember` and the SDK import.

Each command runs as a fresh process (what a user or an agent's shell tool pays per call) against a
temporary home with a few memories, after one warm-up run, and is compared with `python -c pass` (the
time Python itself needs to start) measured in the same run, interleaved, so load on the machine hits
all of them alike.

    .venv/bin/python bench/cli_startup.py [--runs 9]
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


def commands() -> dict[str, list[str]]:
    cli = [str(BIN / "memorylayer")]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import memorylayer; memorylayer.Client": [sys.executable, "-c", "import memorylayer; memorylayer.Client"],
        "memorylayer --help": [*cli, "--help"],
        "memorylayer list": [*cli, "list"],
        "memorylayer recall": [*cli, "recall", "how do deploys work?"],
        "memorylayer remember": [*cli, "remember", "RUN", "--key", "bench-note"],
    }


def timed(argv: list[str], env: dict[str, str], run: int) -> float:
    argv = [a.replace("RUN", f"bench note {run}") for a in argv]
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MEMORYLAYER_HOME": home}
        for text in ("Deploys run on merge to main", "The staging database is refreshed nightly"):
            subprocess.run([str(BIN / "memorylayer"), "remember", text], env=env, check=True, capture_output=True)
        todo = commands()
        samples: dict[str, list[float]] = {name: [] for name in todo}
        for run in range(args.runs + 1):
            for name, argv in todo.items():
                elapsed = timed(argv, env, run)
                if run:  # the first round warms the file cache
                    samples[name].append(elapsed)
    base = statistics.median(samples["python -c pass"])
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.runs} runs each, medians")
    print("| command | median s | × python -c pass |")
    print("| --- | ---: | ---: |")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.3f} | {median / base:.1f} |")


if __name__ == "__main__":
    main()
