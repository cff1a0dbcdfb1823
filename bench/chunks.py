"""remember(chunk) on a long-document set: recall@k of the chunk that answers a question, and ingest time.

The documents are this repository's own pages (docs/*.md, README.md, CHANGELOG.md: ours to use), each
remembered with ``Engine.remember_document`` into one scope. Each question below was written by
reading a page and is paired with a *needle*: a phrase of the page that answers it. The right chunks
are the ones whose text holds the needle (two when the overlap repeats it); a question whose needle no
chunk holds (the page was edited) is reported as stale and left out. For every question the ranked
chunks (``Engine.search``, no threshold, so the ranking alone is measured) are scored:

* recall@k: a right chunk is among the first k hits;
* recall@k with neighbours: a right chunk is among the first k hits or their neighbours
  (``Engine.neighbours``, radius 1) — what a caller reading each hit with its context sees;
* in recall's context: a right chunk is in what ``Engine.recall`` returns with its defaults
  (``balanced`` threshold, 4 items, 150 tokens), and with the 2,000-token maximum.

Ingest time per MB is the wall time of ``remember_document`` over all pages divided by their size
(embedding included; no cache, so the figure is the real model's).

    .venv/bin/python bench/chunks.py [--repeat N]

``--repeat N`` also remembers N copies of the whole set as one long document each (``handbook-<i>``,
a few hundred KB) into a second scope and times them, for ingest speed on long single documents.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KS = (1, 3, 5, 10)

#: (question, needle): the needle is a phrase of the page that answers the question.
QUESTIONS: list[tuple[str, str]] = [
    ("Which PostgreSQL extension and version does a deployment need?", "pgvector"),
    ("How many database connections does each replica keep in its pool?", "pool of at most 8 connections"),
    ("How do I back up the database and restore it?", "pg_dump --format=custom"),
    ("How are schema upgrades applied when several replicas start at once?", "under an advisory lock"),
    ("Which ef_search value does the HNSW search use on large scopes?", "`hnsw.ef_search` 400"),
    ("How is the sync encryption key derived from a passphrase?", "Argon2id instead"),
    ("What does the server see of my synced data?", "What the server sees"),
    ("Into what size of chunks is the sync plaintext cut before encryption?", "cut into 1 MiB chunks"),
    ("How many MCP tool calls per day does the free plan allow?", "Each API key may make a number of"),
    ("Which HTTP statuses make the SDK retry a call?", "408, 429 or 5xx"),
    ("When are two memories that share most of their words treated as duplicates?", "0.95 cosine or more"),
    ("Why are two chat turns of different speakers never merged?", "two chat turns of different speakers"),
    ("How does a fact that changes, like where the user lives, replace the old one?", "Facts that change"),
    ("How are expired memories purged and how often?", "each process's writes run it at most once a minute"),
    ("What exit status does the CLI use for a storage error like a full disk?", "a database locked too long"),
    ("What does the CLI exit with when a model file does not match its pinned hash?", "integrity: a model file"),
    ("How long does a dashboard session last before I must sign in again?", "Sessions last `session_ttl_s`"),
    ("Why does the session cookie use SameSite Lax rather than Strict?", "SameSite=Lax (not Strict)"),
    ("What happened to acknowledged writes when the server was killed with SIGKILL?", "killed with SIGKILL"),
    ("How do I remove an installed package and log out of the registry?", "memorylayer remove @you/team-notes"),
    ("Where does the registry keep package tarballs on PostgreSQL?", "the tarballs are rows too"),
    ("How long may a chunk of a remembered document be?", "at most 450 characters"),
    ("What does re-remembering the same document do to its old chunks?", "Re-remembering the same document"),
    ("What does recall(answer) do when no memory passes the threshold?", "no evidence passed the threshold"),
    ("How does the Argon2id cost of a sync passphrase show in pull memory?", "Argon2id's"),
    ("How is the MCP server configured in Claude Desktop?", "Claude Desktop"),
    ("What is the median CLI start-up time?", "median s to the first answer"),
    ("How is a password hidden in database URLs shown in logs?", "postgresql://memorylayer:***@"),
    ("What does the kill -9 test count as lost writes?", "acknowledged writes"),
    ("Which statuses are final and never retried by the SDK?", "Conflicts (409) and other 4xx answers are final"),
]


def documents() -> dict[str, str]:
    pages = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    return {page.name: page.read_text(encoding="utf-8") for page in pages if page.is_file()}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def run(repeat: int) -> dict:
    from memorylayer import limits
    from memorylayer.engine import Engine

    docs = documents()
    megabytes = sum(len(t.encode("utf-8")) for t in docs.values()) / 1e6
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(home=Path(home))
        try:
            engine.add("warm-up", "The model is loaded before timing.")
            started = time.perf_counter()
            chunks = [c for name, text in docs.items() for c in engine.remember_document("docs", name, text).chunks]
            ingest_s = time.perf_counter() - started
            found: dict[str, list[int]] = {f"recall@{k}": [] for k in KS}
            found |= {f"recall@{k}+neighbours": [] for k in KS} | {
                "in_recall_context": [],
                "in_recall_context_2000": [],
            }
            stale, ranks = [], []
            for question, needle in QUESTIONS:
                right = {c.id for c in chunks if _flat(needle) in _flat(c.value)}
                if not right:
                    stale.append(question)
                    continue
                ids = [h.memory.id for h in engine.search(question, scope="docs", top_k=max(KS))]
                for name, budget in (
                    ("in_recall_context", limits.DEFAULT_MAX_TOKENS),
                    ("in_recall_context_2000", 2000),
                ):
                    kept = engine.recall("docs", question, max_tokens=budget).hits
                    found[name].append(bool(right & {h.memory.id for h in kept}))
                ranks.append(next((i + 1 for i, m in enumerate(ids) if m in right), None))
                for k in KS:
                    found[f"recall@{k}"].append(bool(right & set(ids[:k])))
                    around = {n.id for m in ids[:k] for n in engine.neighbours(m, radius=1)}
                    found[f"recall@{k}+neighbours"].append(bool(right & around))
            long_docs = []
            if repeat:
                handbook = "\n\n".join(docs.values())
                for i in range(repeat):
                    started = time.perf_counter()
                    result = engine.remember_document("handbook", f"handbook-{i}", f"# Copy {i}\n\n{handbook}")
                    long_docs.append((time.perf_counter() - started, len(result.chunks)))
        finally:
            engine.close()
    report = {
        "documents": len(docs),
        "megabytes": round(megabytes, 3),
        "chunks": len(chunks),
        "questions": len(QUESTIONS) - len(stale),
        "stale_questions": stale,
        **{name: round(statistics.fmean(v), 3) for name, v in found.items() if v},
        "median_rank_of_right_chunk": statistics.median([r for r in ranks if r]) if any(ranks) else None,
        "ingest_s": round(ingest_s, 2),
        "ingest_s_per_mb": round(ingest_s / megabytes, 1),
    }
    if long_docs:
        size = len("\n\n".join(docs.values()).encode("utf-8")) / 1e6
        report["long_document"] = {
            "megabytes": round(size, 3),
            "chunks": long_docs[0][1],
            "ingest_s_per_mb_median": round(statistics.median(s for s, _ in long_docs) / size, 1),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=0, help="also time N copies of the set as one document each")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
