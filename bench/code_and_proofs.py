"""code(ingest) / code(locate) on a real public codebase, and prove / audit latency.

The codebase is httpx as installed in this environment (its source is in site-packages; pure Python,
~7,800 lines): each question below was written by reading that source and names the file and symbol
that answers it. Figures go to docs/benchmarks.md by hand, with the command that made them:

    .venv/bin/python bench/code_and_proofs.py
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from memorylayer.engine import Engine
from memorylayer.engine.code import Location
from memorylayer.types import NewMemory

#: (question, file relative to the package root, symbol: the qualified name or its last part).
QUESTIONS = [
    ("where does the client follow redirects", "_client.py", "_send_handling_redirects"),
    ("which HTTP method to use after a 303 redirect", "_client.py", "_redirect_method"),
    ("build the request for the next redirect hop", "_client.py", "_build_redirect_request"),
    ("check whether two URLs have the same origin", "_client.py", "_same_origin"),
    ("merge client cookies with request cookies", "_client.py", "_merge_cookies"),
    ("raise an exception for 4xx and 5xx responses", "_models.py", "raise_for_status"),
    ("iterate over the lines of a response body", "_models.py", "iter_lines"),
    ("charset from the content type header", "_models.py", "charset_encoding"),
    ("http basic authentication header", "_auth.py", "BasicAuth"),
    ("digest authentication challenge parsing", "_auth.py", "_parse_challenge"),
    ("credentials from the netrc file", "_auth.py", "NetRCAuth"),
    ("client nonce for digest auth", "_auth.py", "_get_client_nonce"),
    ("authentication with a plain function", "_auth.py", "FunctionAuth"),
    ("create the SSL context for certificate verification", "_config.py", "create_ssl_context"),
    ("connect read write and pool timeouts", "_config.py", "Timeout"),
    ("maximum number of connections and keepalive", "_config.py", "Limits"),
    ("proxy configuration with authentication", "_config.py", "Proxy"),
    ("decompress gzip encoded content", "_decoders.py", "GZipDecoder"),
    ("brotli decoding", "_decoders.py", "BrotliDecoder"),
    ("zstd content decoding", "_decoders.py", "ZStandardDecoder"),
    ("split text into lines across chunks", "_decoders.py", "LineDecoder"),
    ("re-chunk a byte stream into fixed size chunks", "_decoders.py", "ByteChunker"),
    ("multipart form file upload field", "_multipart.py", "FileField"),
    ("boundary of a multipart content type", "_multipart.py", "get_multipart_boundary_from_content_type"),
    ("guess the content type of an uploaded filename", "_multipart.py", "_guess_content_type"),
    ("translate httpcore exceptions into httpx exceptions", "_transports/default.py", "map_httpcore_exceptions"),
    ("the default connection pool transport", "_transports/default.py", "HTTPTransport"),
    ("mock transport for tests with a handler function", "_transports/mock.py", "MockTransport"),
    ("call a WSGI application in process", "_transports/wsgi.py", "WSGITransport"),
    ("send requests to an ASGI app", "_transports/asgi.py", "ASGITransport"),
    ("detect whether we run under trio", "_transports/asgi.py", "is_running_trio"),
    ("is a status code a redirect", "_status_codes.py", "is_redirect"),
    ("reason phrase of a status code", "_status_codes.py", "get_reason_phrase"),
    ("proxies from environment variables", "_utils.py", "get_environment_proxies"),
    ("length of a file-like object without reading it", "_utils.py", "peek_filelike_length"),
    ("encode a JSON request body", "_content.py", "encode_json"),
    ("encode form data as urlencoded", "_content.py", "encode_urlencoded_data"),
    ("join a relative URL onto a base URL", "_urls.py", "join"),
    ("copy a URL with some components replaced", "_urls.py", "URL.copy_with"),
    ("query string parameters", "_urls.py", "QueryParams"),
    ("error raised for a response with an error status", "_exceptions.py", "HTTPStatusError"),
    ("attach the request to an exception raised inside a block", "_exceptions.py", "request_context"),
    ("print the response headers in the command line tool", "_main.py", "print_response_headers"),
    ("send a one-off request without a client", "_api.py", "request"),
]


def _hit(location: Location, path: str, symbol: str) -> bool:
    name = location.symbol or ""
    return location.path == path and (name == symbol or name.endswith("." + symbol))


def main() -> None:
    source = Path(httpx.__file__).parent
    work = Path(tempfile.mkdtemp())
    tree = work / "httpx"
    shutil.copytree(source, tree, ignore=shutil.ignore_patterns("__pycache__"))
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in tree.rglob("*.py"))
    with Engine.open(work / "home") as engine:
        engine.embedder.embed(["warm up"])
        started = time.perf_counter()
        first = engine.code_ingest("httpx", root=tree)
        ingest_s = time.perf_counter() - started
        (tree / "_utils.py").write_text((tree / "_utils.py").read_text(encoding="utf-8") + "\n# changed\n", "utf-8")
        started = time.perf_counter()
        second = engine.code_ingest("httpx", root=tree)
        reingest_s = time.perf_counter() - started
        started = time.perf_counter()
        third = engine.code_ingest("httpx", root=tree)
        noop_s = time.perf_counter() - started
        top1 = top5 = 0
        misses = []
        latencies = []
        for question, path, symbol in QUESTIONS:
            t = time.perf_counter()
            found = engine.code_locate("httpx", question, top_k=5)
            latencies.append(time.perf_counter() - t)
            if found and _hit(found[0], path, symbol):
                top1 += 1
            if any(_hit(loc, path, symbol) for loc in found):
                top5 += 1
            else:
                misses.append(f"{question!r} -> {[f'{loc.path}#{loc.symbol}' for loc in found[:2]]}")
        n = len(QUESTIONS)
        print(f"httpx {httpx.__version__}: {first.files} files, {lines} lines of Python, {first.symbols} symbols")
        print(f"ingest {ingest_s:.1f}s; re-ingest after one changed file {reingest_s:.2f}s "
              f"({second.changed} changed, {second.unchanged} unchanged); unchanged tree {noop_s:.2f}s "
              f"({third.unchanged} unchanged)")  # fmt: skip
        print(f"locate: top-1 {top1}/{n} = {top1 / n:.3f}, top-5 {top5}/{n} = {top5 / n:.3f}, "
              f"median {statistics.median(latencies) * 1000:.0f} ms")  # fmt: skip
        for miss in misses:
            print("  miss:", miss)
        _reasoning(engine)


def _reasoning(engine: Engine) -> None:
    budget = {
        "entities": {"team": {"attributes": {"spend": "real", "limit": "real"}}},
        "rules": [
            {"id": "within-budget", "entity": "team", "assert": "spend <= limit"},
            {"id": "cap", "entity": "team", "assert": "limit <= 10000"},
        ],
    }
    engine.set_domain("money", budget)
    items = []
    for team in range(500):
        items.append(NewMemory(str(100 + team % 37), key=f"team.t{team}.spend"))
        items.append(NewMemory(str(1000 + team % 11), key=f"team.t{team}.limit"))
    engine.add_batch("money", items)
    audits = []
    for _ in range(5):
        t = time.perf_counter()
        clean = engine.audit("money")
        audits.append(time.perf_counter() - t)
    engine.add("money", "5000", key="team.t321.spend")
    planted = []
    for _ in range(5):
        t = time.perf_counter()
        report = engine.audit("money")
        planted.append(time.perf_counter() - t)
    core = report.conflicts[0]
    proves = []
    for _ in range(20):
        t = time.perf_counter()
        proof = engine.prove("money", {"entity": "team", "instance": "t7", "assert": "spend <= 10000"})
        proves.append(time.perf_counter() - t)
    print(f"audit of 1,000 facts, 1,000 rule instances: consistent={clean.consistent} "
          f"median {statistics.median(audits) * 1000:.0f} ms; with one planted conflict "
          f"median {statistics.median(planted) * 1000:.0f} ms, core = {core.rules} + "
          f"{[f.key for f in core.facts]}")  # fmt: skip
    print(f"prove (one instance, from 2 facts and 2 rules): {proof.status}, "
          f"median {statistics.median(proves) * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
