"""Publishing and installing a 10,000-memory package: wall time and peak memory of each CLI command.

A real `memorylayer serve` runs on a temporary home with one account; every step is a fresh
`memorylayer` process (what a user runs), timed from start to exit, its peak RSS read from the
kernel (`wait4`):

- `publish` of a namespace of `--memories` memories (the pack streams through a temporary file);
- `add` of that package into an empty home (download with integrity, safe read, dedup, one write);
- `add` of the same version again (the install record says there is nothing to do).

Each step runs `--repeats` times (publish bumps the patch version; every first install gets a new
home) and medians are reported. To keep the set-up short, `--distinct` texts are embedded with the
real model and the rest are labelled variants of them ("… (variant n)") whose stored vectors are the
base vector plus Gaussian noise (cosine about 0.6 to it), far enough apart that dedup keeps every one:
the install path treats them like any other stored vectors (it reuses them: same model).

    .venv/bin/python bench/registry.py --memories 10000 --repeats 3
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
import urllib.request
from pathlib import Path
from typing import Any

CLI = str(Path(sys.executable).parent / "memorylayer")
TOPICS = ["deploys", "reviews", "on-call", "databases", "caching", "releases", "testing", "security"]


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of one CLI process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([CLI, *args], env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB on Linux)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{args}: failed\n{out.read().decode()}\n{err.read().decode()}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def fill(home: Path, memories: int, distinct: int) -> None:
    """``memories`` memories in namespace ``kb`` of ``home``, ``distinct`` of them embedded for real.

    Runs in a process of its own (``--fill``): a child forked from a process that holds the model
    would start with its pages, and the kernel's peak RSS of every later step would include them.
    """
    import numpy as np

    from memorylayer.engine import Engine
    from memorylayer.types import NewMemory

    rng = np.random.default_rng(7)
    texts = [
        f"Team note {i} on {TOPICS[i % len(TOPICS)]}: step {i % 97} runs after step {i % 89} on runner {i % 13}."
        for i in range(distinct)
    ]
    engine = Engine.open(home)
    try:
        base = engine.embedder.embed(texts)
        vectors: dict[str, Any] = {}
        items = []
        for n in range(memories):
            i = n % distinct
            text = texts[i] if n < distinct else f"{texts[i]} (variant {n // distinct})"
            vector = base[i] if n < distinct else base[i] + rng.normal(0, 0.068, base.shape[1]).astype(np.float32)
            vectors[text] = (vector / np.linalg.norm(vector)).astype(np.float32)
            items.append(NewMemory(text))
        for start in range(0, memories, 1000):
            engine.commit(engine.prepare("kb", items[start : start + 1000], dedup="none", embedded=vectors))
        assert engine.count("kb") == memories
    finally:
        engine.close()


def serve(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--log-level", "warning"],
        env={**env, "MEMORYLAYER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--fill", help=argparse.SUPPRESS)  # internal: build the publisher's home here
    args = parser.parse_args()
    if args.fill:
        fill(Path(args.fill), args.memories, args.distinct)
        return
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORYLAYER_", "MEMORY_API_KEY"))}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server_home = tmp / "server"
        _, _, made = run(
            ["admin", "create-account", "bench@example.com", "--plan", "pro", "--json"],
            {**base_env, "MEMORYLAYER_HOME": str(server_home)},
        )
        key = json.loads(made)["api_key"]
        publisher = tmp / "publisher"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--fill",
                str(publisher),
                "--memories",
                str(args.memories),
                "--distinct",
                str(args.distinct),
            ],
            env=base_env,
            check=True,
        )
        print(f"set-up: {args.memories} memories in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        package = tmp / "package"
        package.mkdir()
        manifest = {"name": "@bench/kb", "version": "1.0.0", "memorylayer": {"namespace": "kb"}}
        (package / "memory.json").write_text(json.dumps(manifest), encoding="utf-8")
        server = serve(server_home, args.port, base_env)
        env = {**base_env, "MEMORY_API_KEY": key, "MEMORYLAYER_REGISTRY": f"http://127.0.0.1:{args.port}"}
        steps: dict[str, list[tuple[float, float]]] = {
            "publish": [],
            "add (first install)": [],
            "add (same version)": [],
        }
        try:
            for n in range(args.repeats):
                bump = ["--bump", "patch"] if n else []
                seconds, peak, out = run(
                    ["publish", *bump, "--json"], {**env, "MEMORYLAYER_HOME": str(publisher)}, package
                )
                steps["publish"].append((seconds, peak))
                size = json.loads(out)["size"]
                installer = {**env, "MEMORYLAYER_HOME": str(tmp / f"installer-{n}")}
                seconds, peak, out = run(["add", "@bench/kb", "--json"], installer)
                report = json.loads(out)["installed"][0]
                assert report["added"] == args.memories, report
                steps["add (first install)"].append((seconds, peak))
                seconds, peak, out = run(["add", "@bench/kb", "--json"], installer)
                assert json.loads(out)["installed"][0]["status"] == "unchanged"
                steps["add (same version)"].append((seconds, peak))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.repeats} runs each, medians")
    print(f"package: {args.memories} memories, {size / 1024 / 1024:.1f} MiB gzipped")
    print("| step | median s | median peak RSS MiB |")
    print("| --- | ---: | ---: |")
    for step, results in steps.items():
        seconds = statistics.median(r[0] for r in results)
        peak = statistics.median(r[1] for r in results)
        print(f"| `memorylayer {step}` | {seconds:.2f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
