"""`memorylayer sync push` and `sync pull` of a large namespace: wall time and peak memory of each.

A real `memorylayer serve` runs on a temporary home with one Pro account; every step is a fresh
`memorylayer` process, timed from start to exit, its peak RSS read from the kernel (`wait4`), with the
helpers of bench/registry.py (the same set-up: `--distinct` texts embedded for real, the rest labelled
variants with noisy copies of their vectors).

- `sync push` of namespace `kb` (snapshot to a temporary file, sealed chunk by chunk, streamed up);
- `sync pull` into an empty home (download, decrypt and verify all of it, then one merge);
- `sync pull` again into that home (every memory already there: nothing written);
- the same three with `--key` (Argon2id at its defaults, 64 MiB) for the passphrase mode.

    .venv/bin/python bench/sync.py --memories 100000 --repeats 1
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

from registry import run, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORYLAYER_", "MEMORY_API_KEY"))}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server_home = tmp / "server"
        _, _, made = run(
            ["admin", "create-account", "bench@example.com", "--plan", "pro", "--json"],
            {**base_env, "MEMORYLAYER_HOME": str(server_home)},
        )
        key = json.loads(made)["api_key"]
        source = tmp / "desk"
        started = time.perf_counter()
        fill = [sys.executable, str(Path(__file__).with_name("registry.py")), "--fill", str(source)]
        subprocess.run(
            [*fill, "--memories", str(args.memories), "--distinct", str(args.distinct)], env=base_env, check=True
        )
        print(f"set-up: {args.memories} memories in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        server = serve(server_home, args.port, base_env)
        env = {**base_env, "MEMORY_API_KEY": key, "MEMORYLAYER_REGISTRY": f"http://127.0.0.1:{args.port}"}
        steps: dict[str, list[tuple[float, float]]] = {}
        size = 0
        try:
            for mode, extra in (("api key", []), ("passphrase", ["--key", "bench passphrase"])):
                for n in range(args.repeats):
                    seconds, peak, out = run(
                        ["sync", "push", "-n", "kb", *extra, "--json"], {**env, "MEMORYLAYER_HOME": str(source)}
                    )
                    steps.setdefault(f"sync push ({mode})", []).append((seconds, peak))
                    size = json.loads(out)["size"]
                    laptop = {**env, "MEMORYLAYER_HOME": str(tmp / f"laptop-{mode}-{n}")}
                    seconds, peak, out = run(["sync", "pull", "-n", "kb", *extra, "--json"], laptop)
                    assert json.loads(out)["added"] == args.memories, out
                    steps.setdefault(f"sync pull ({mode}, empty home)", []).append((seconds, peak))
                    seconds, peak, out = run(["sync", "pull", "-n", "kb", *extra, "--json"], laptop)
                    assert json.loads(out)["unchanged"] == args.memories, out
                    steps.setdefault(f"sync pull ({mode}, again)", []).append((seconds, peak))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.repeats} run(s) each, medians")
    print(f"blob: {args.memories} memories, {size / 1024 / 1024:.1f} MiB encrypted")
    print("| step | median s | median peak RSS MiB |")
    print("| --- | ---: | ---: |")
    for step, results in steps.items():
        print(
            f"| `memorylayer {step}` | {statistics.median(r[0] for r in results):.2f} |"
            f" {statistics.median(r[1] for r in results):.0f} |"
        )


if __name__ == "__main__":
    main()
