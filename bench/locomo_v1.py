"""LoCoMo over the wire: conversations stored with ``POST /v1/memories/batch`` (with ``createdAt``) and
questions asked with ``POST /v1/recall``, against the same recall in process.

The real server app (``create_app``) is driven in this process through Starlette's test client (the
ASGI interface, no socket); every turn and question crosses the wire's validation, JSON and
``maxTokens × 4`` character budget. Each question is recalled with ``maxItems: 10``, ``maxTokens:
2000``, ``threshold: "permissive"`` — the closest the wire has to a top-10 search — over ``/v1`` and
with ``Engine.recall`` (same arguments), and R@5 / R@10 / NDCG@10 are computed from the order of the
memories returned. Embeddings come from bench/embed_cache.py.

    .venv/bin/python bench/locomo_v1.py [--conversations N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from locomo import DEFAULT_DATA, load_conversation, mean_metrics, score  # noqa: E402

ASK = {"maxItems": 10, "maxTokens": 2000, "threshold": "permissive"}


def iso(ms: int) -> str:
    from memorylayer.types import iso_ms

    return str(iso_ms(ms))


def main(argv: list[str] | None = None) -> int:
    from starlette.testclient import TestClient

    from embed_cache import CachedEmbedder
    from memorylayer.config import Settings
    from memorylayer.engine import Engine
    from memorylayer.server import create_app
    from memorylayer.server.admin import create_account, create_key
    from memorylayer.server.settings import ServerSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"LoCoMo data not found at {args.data}; skipping (pass --data PATH).")
        return 0
    samples = json.loads(args.data.read_text(encoding="utf-8"))[: args.conversations]
    embedder = CachedEmbedder()
    rows: dict[str, list[dict[str, float]]] = {"v1": [], "engine": []}
    same_order = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        root = Engine.open(home, embedder=embedder)
        account = create_account(
            root.backend.accounts, ServerSettings.load(home), "locomo@example.com", plan="enterprise"
        )
        _, key = create_key(root.backend.accounts, account.id, scopes="memory:read,memory:write")
        engine = root.for_account(account.id)
        app = create_app(Settings.load(home=home), engine=root)
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as http:
            for index, sample in enumerate(samples):
                scope = f"locomo-{index}"
                turns, questions = load_conversation(sample)
                id_to_dias: dict[str, list[str]] = {}
                for start in range(0, len(turns), 1000):
                    chunk = turns[start : start + 1000]
                    items = [{"value": t["text"], "createdAt": iso(t["created_at"])} for t in chunk]
                    r = http.post("/v1/memories/batch", json={"scope": scope, "items": items}, headers=headers)
                    r.raise_for_status()
                    by_text: dict[str, list[str]] = {}
                    for t in chunk:
                        by_text.setdefault(t["text"], []).append(t["dia_id"])
                    for m in r.json()["memories"]:
                        id_to_dias[m["id"]] = by_text.get(m["value"], [])
                for q in questions:
                    if q["category"] not in (1, 2, 3, 4):
                        continue
                    r = http.post("/v1/recall", json={"scope": scope, "query": q["question"], **ASK}, headers=headers)
                    r.raise_for_status()
                    wire = [m["id"] for m in r.json()["memories"]]
                    local = engine.recall(
                        scope,
                        q["question"],
                        max_items=10,
                        max_tokens=2000,
                        threshold="permissive",
                        record_access=False,
                        chars_per_token=4,
                    )
                    here = [m.id for m in local.memories]
                    same_order.append(wire == here)
                    for name, ids in (("v1", wire), ("engine", here)):
                        rows[name].append(score([d for i in ids for d in id_to_dias.get(i, [])], q["evidence"]))
                print(f"conversation {index + 1}/{len(samples)}", file=sys.stderr)
        embedder.save()
        root.close()
    print("| path | questions | R@5 | R@10 | NDCG@10 |\n|---|---:|---:|---:|---:|")
    for name, label in (("v1", "`/v1` (batch with createdAt, recall)"), ("engine", "`Engine.recall`, same arguments")):
        m = mean_metrics(rows[name])
        print(f"| {label} | {m['n']} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} |")
    print(f"\nthe same memories in the same order for {statistics.fmean(same_order):.1%} of questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
