"""Time to the first answer: `./scripts/run.sh` (setup check + serve) against `memorylayer serve` alone.

Each run starts the command on a free port with a fresh home and polls `GET /health` until it answers,
then stops it; the two commands alternate so load on the machine falls on both alike. run.sh runs with
no package index reachable (pip would fail), which is how it must work on an installed checkout.

    .venv/bin/python bench/serve_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = {
    "PIP_NO_INDEX": "1",
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_FIND_LINKS": "",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


def first_answer(argv: list[str], home: Path) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **OFFLINE, "MEMORYLAYER_HOME": str(home)}
    start = time.perf_counter()
    process = subprocess.Popen([*argv, "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                return time.perf_counter() - start
            except httpx.TransportError:
                if process.poll() is not None or time.perf_counter() - start > 120:
                    raise RuntimeError(f"{argv[0]} did not answer") from None
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    commands = {
        "./scripts/run.sh": [str(ROOT / "scripts/run.sh")],
        "memorylayer serve": [str(Path(sys.executable).parent / "memorylayer"), "serve"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(first_answer(argv, Path(folder) / f"{run}-{len(samples[name])}-{name[-5:]}"))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.runs} runs each, medians")
    print("| command | median s to the first answer |")
    print("| --- | ---: |")
    for name, values in samples.items():
        print(f"| `{name}` | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
