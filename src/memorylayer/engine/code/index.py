"""``code(ingest)`` and ``code(locate)``: a source tree as memories of one namespace, and "where is X?".

Every file becomes one memory keyed ``code:<path>`` and each of its symbols one keyed
``code:<path>#<Symbol.name>``; the value is what retrieval reads (kind, name and path with identifiers
split on camelCase and snake_case, signature, docstring and comments), the metadata under ``code`` holds
the path, lines, symbol, snippet and the file's SHA-256. Re-ingesting compares hashes: an unchanged
file costs nothing, a changed one is replaced (its old rows deleted, history included, in the same
transaction as the new ones), a file gone from the tree is forgotten. ``locate`` is the engine's hybrid
search (BM25 over the analysed text + vectors) over those memories, re-ranked by how many query words
the symbol's own name and path carry.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ... import limits
from ...errors import InvalidRequest
from ...sourcetree import Skipped, SourceFile
from ...types import NewMemory
from ..text import analyze_query
from .parse import Symbol, language_of, symbols

if TYPE_CHECKING:
    from ..core import Engine

#: Operation names, the hook point for per-key metering (one call = one use).
INGEST_OPERATION = "code.ingest"
LOCATE_OPERATION = "code.locate"
KEY_PREFIX = "code:"
#: Characters of a file's head kept in its memory (docs files are indexed by their opening).
FILE_HEAD_CHARS = 1_500
#: Files per request a client may send; the SDK batches larger trees.
MAX_FILES_PER_CALL = 2_000
#: Weight of the overlap between the query's words and a symbol's name / path words, added to the search score.
NAME_WEIGHT = 0.35
PATH_WEIGHT = 0.15
#: A file's memory holds its whole head, so it matches many questions; a symbol is the more precise answer.
FILE_DISCOUNT = 0.9

Progress = Callable[[int, int], None]
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9]+")


def split_identifiers(text: str) -> list[str]:
    """Words of identifiers and paths, lower-cased: ``parseHTTPHeader_v2`` -> parse, http, header, v2."""
    words: list[str] = []
    for token in _WORD.findall(text):
        words.extend(part.lower() for part in _CAMEL.split(token) if part)
    return words


@dataclass
class IngestSummary:
    """What an ingest did: files by outcome, symbols written, files skipped by reason, time taken."""

    files: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    symbols: int = 0
    seconds: float = 0.0
    skipped: Skipped = field(default_factory=Skipped)
    languages: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "symbols": self.symbols,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped.to_dict(),
            "languages": dict(sorted(self.languages.items())),
        }


@dataclass(frozen=True)
class Location:
    """One answer of ``locate``: where (``path``, lines 1-based inclusive), what, and a snippet."""

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    snippet: str
    score: float
    memory_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "location": f"{self.path}:{self.start_line}-{self.end_line}",
            "symbol": self.symbol,
            "kind": self.kind,
            "snippet": self.snippet,
            "score": round(self.score, 4),
            "memory_id": self.memory_id,
        }


def file_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(path: str, symbol: str | None, taken: set[str]) -> str:
    key = f"{KEY_PREFIX}{path}" + (f"#{symbol}" if symbol else "")
    if len(key) > limits.KEY.max:  # keys are at most 128: a long path keeps a readable tail and a hash
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
        key = f"{KEY_PREFIX}{digest}~{key[-(limits.KEY.max - len(KEY_PREFIX) - 18) :]}"
    base, n = key, 2
    while key in taken:  # a property's getter and setter, overloads: same qualified name twice
        suffix = f"~{n}"
        key = base[: limits.KEY.max - len(suffix)] + suffix
        n += 1
    taken.add(key)
    return key


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def memories_of(source: SourceFile) -> list[NewMemory]:
    """The file's memory then one per symbol, each value within the value limit."""
    digest = file_hash(source.text)
    language = language_of(source.path)
    found = symbols(source.path, source.text) if language else []
    lines = source.text.splitlines()
    taken: set[str] = set()
    path_words = " ".join(split_identifiers(source.path))
    names = ", ".join(s.name for s in found if "." not in s.name)[:1_000]
    head = _clip(source.text.strip(), FILE_HEAD_CHARS) or "(empty file)"
    file_value = f"file {source.path}\n{path_words}\n" + (f"defines: {names}\n" if names else "") + head
    base = {"path": source.path, "hash": digest, "language": language}
    items = [
        NewMemory(
            _clip(file_value, limits.VALUE.max),
            key=_key(source.path, None, taken),
            metadata={
                "code": {
                    **base,
                    "kind": "file",
                    "symbol": None,
                    "lines": [1, max(1, len(lines))],
                    "snippet": "\n".join(lines[:12])[:1_000],
                }
            },
            source="imported",
        )
    ]
    for symbol in found:
        items.append(_symbol_memory(source.path, symbol, base, path_words, taken))
    return items


def _symbol_memory(path: str, symbol: Symbol, base: dict[str, Any], path_words: str, taken: set[str]) -> NewMemory:
    value = "\n".join(
        part
        for part in (
            f"{symbol.kind} {symbol.name} in {path}",
            " ".join(split_identifiers(symbol.name)) + " | " + path_words,
            symbol.signature,
            symbol.doc,
        )
        if part
    )
    return NewMemory(
        _clip(value, limits.VALUE.max),
        key=_key(path, symbol.name, taken),
        metadata={
            "code": {
                **base,
                "kind": symbol.kind,
                "symbol": symbol.name,
                "lines": [symbol.start_line, symbol.end_line],
                "snippet": symbol.snippet[:1_000],
            }
        },
        source="imported",
    )


def _indexed(engine: Engine, scope: str) -> dict[str, tuple[str, list[str]]]:
    """path -> (file hash, ids of its memories) for what ``scope`` holds now."""
    out: dict[str, tuple[str, list[str]]] = {}
    for record in engine.iter_all(scope=scope, key_search=KEY_PREFIX):
        meta = record.metadata.get("code")
        if not (record.key or "").startswith(KEY_PREFIX) or not isinstance(meta, dict):
            continue
        path = str(meta.get("path"))
        digest, ids = out.get(path, (str(meta.get("hash")), []))
        ids.append(record.id)
        out[path] = (digest, ids)
    return out


def ingest(
    engine: Engine,
    scope: str,
    files: Iterable[SourceFile],
    *,
    prune: bool = True,
    present: Iterable[str] | None = None,
    skipped: Skipped | None = None,
    progress: Progress | None = None,
) -> IngestSummary:
    """Index ``files`` into ``scope``; with ``prune``, files of the scope not among them are forgotten.

    ``present`` widens what counts as still there (a client sending a large tree in parts names every
    path of the tree with its last part, so files sent earlier are kept).

    Each changed file is one transaction (its old rows out, its new rows in), so an interrupted ingest
    leaves every file either as it was or as it is now, and the next run finishes the job.

    Raises:
        InvalidRequest: a bad scope, or two files with the same path.
    """
    started = time.perf_counter()
    summary = IngestSummary(skipped=skipped if skipped is not None else Skipped())
    sources = list(files)
    seen: set[str] = set()
    for i, source in enumerate(sources):
        if source.path in seen:
            raise InvalidRequest(f"files[{i}].path: {source.path} is given twice")
        seen.add(source.path)
    indexed = _indexed(engine, scope)
    summary.files = len(sources)
    for done, source in enumerate(sources, 1):
        previous = indexed.get(source.path)
        language = (language_of(source.path) or "tree_sitter_text").removeprefix("tree_sitter_")
        summary.languages[language] = summary.languages.get(language, 0) + 1
        if previous is not None and previous[0] == file_hash(source.text):
            summary.unchanged += 1
        else:
            items = memories_of(source)
            prepared = engine.prepare(scope, items, dedup="none")
            with engine.store.transaction():
                if previous is not None:
                    engine.store.delete(engine.account, previous[1])
                engine.commit(prepared)
            summary.symbols += len(items) - 1
            if previous is None:
                summary.added += 1
            else:
                summary.changed += 1
        if progress is not None:
            progress(done, len(sources))
    if prune:
        for path in sorted(set(indexed) - seen - set(present or ())):
            engine.store.delete(engine.account, indexed[path][1])
            summary.removed += 1
    summary.seconds = time.perf_counter() - started
    return summary


def locate(engine: Engine, scope: str, query: str, *, top_k: int = 5) -> list[Location]:
    """The places in ``scope``'s code that best answer ``query``, best first (scores in [0, 1]).

    Raises:
        InvalidRequest: a bad query, scope or ``top_k``.
    """
    hits = engine.search(query, scope=scope, top_k=min(limits.TOP_K.max, max(50, top_k * 10)))
    query_words = set(analyze_query(" ".join(split_identifiers(query))))
    ranked: list[Location] = []
    for hit in hits:
        meta = hit.memory.metadata.get("code")
        if not isinstance(meta, dict) or not (hit.memory.key or "").startswith(KEY_PREFIX):
            continue
        symbol = meta.get("symbol")
        name_words = set(analyze_query(" ".join(split_identifiers(str(symbol or "")))))
        path_words = set(analyze_query(" ".join(split_identifiers(str(meta.get("path", ""))))))
        name_share = len(query_words & name_words) / len(query_words) if query_words else 0.0
        path_share = len(query_words & path_words) / len(query_words) if query_words else 0.0
        score = (hit.score + NAME_WEIGHT * name_share + PATH_WEIGHT * path_share) / (1 + NAME_WEIGHT + PATH_WEIGHT)
        if meta.get("kind") == "file":
            score *= FILE_DISCOUNT
        start, end = meta.get("lines", [1, 1])
        ranked.append(
            Location(
                path=str(meta.get("path")),
                start_line=int(start),
                end_line=int(end),
                symbol=symbol if isinstance(symbol, str) else None,
                kind=str(meta.get("kind", "file")),
                snippet=str(meta.get("snippet", "")),
                score=score,
                memory_id=hit.memory.id,
            )
        )
    ranked.sort(key=lambda loc: -loc.score)
    return ranked[:top_k]
