"""The SDK's calls for code memory and formal reasoning (docs/reasoning.md): builders and the tree walk."""

from __future__ import annotations

from typing import Any

from .. import limits as L
from . import models as m
from ._base import Call
from ._checks import check, text


def _compact(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


class CodeCalls:
    """Request builders shared by ``Client`` and ``AsyncClient`` (each mixes it in)."""

    def _code_ingest(
        self, scope: str, files: list[dict[str, str]], prune: bool, present: list[str] | None
    ) -> Call[m.CodeIngestResponse]:
        check(text("scope", scope, L.SCOPE))
        body = _compact(scope=scope, files=files, prune=prune, present=present)
        return Call("POST", "/v1/code/ingest", m.CodeIngestResponse, body)

    def _code_locate(self, scope: str, query: str, top_k: int | None) -> Call[m.CodeLocateResponse]:
        check(text("scope", scope, L.SCOPE), text("query", query, L.QUERY))
        return Call("POST", "/v1/code/locate", m.CodeLocateResponse, _compact(scope=scope, query=query, topK=top_k))

    def _set_domain(self, scope: str, domain: dict[str, Any]) -> Call[m.DomainResponse]:
        check(text("scope", scope, L.SCOPE))
        return Call("POST", "/v1/domain", m.DomainResponse, {"scope": scope, "domain": domain})

    def _get_domain(self, scope: str) -> Call[m.DomainResponse]:
        check(text("scope", scope, L.SCOPE))
        return Call("POST", "/v1/domain/get", m.DomainResponse, {"scope": scope})

    def _prove(self, scope: str, statement: dict[str, Any], timeout_ms: int | None) -> Call[m.ProveResponse]:
        check(text("scope", scope, L.SCOPE))
        body = _compact(scope=scope, statement=statement, timeoutMs=timeout_ms)
        return Call("POST", "/v1/prove", m.ProveResponse, body)

    def _audit(self, scope: str, timeout_ms: int | None) -> Call[m.AuditResponse]:
        check(text("scope", scope, L.SCOPE))
        return Call("POST", "/v1/audit", m.AuditResponse, _compact(scope=scope, timeoutMs=timeout_ms))


#: Bytes of file text in one ``/v1/code/ingest`` request: under the server's 1 MiB body cap with room for JSON.
INGEST_PART_BYTES = 800_000


def ingest_parts(root: Any) -> tuple[list[list[dict[str, str]]], list[str], int]:
    """The files under ``root`` (as ``memorylayer.sourcetree`` walks them) in request-sized parts.

    Returns the parts, every path (sent with the last part so pruning keeps the earlier ones) and how
    many files were too large for one request.
    """
    from ..sourcetree import walk

    parts: list[list[dict[str, str]]] = [[]]
    size, too_large, paths = 0, 0, []
    for source in walk(root):
        weight = len(source.text.encode("utf-8")) + len(source.path) + 64
        if weight > INGEST_PART_BYTES:
            too_large += 1
            continue
        if parts[-1] and (size + weight > INGEST_PART_BYTES or len(parts[-1]) >= L.CODE_FILES.max):
            parts.append([])
            size = 0
        parts[-1].append({"path": source.path, "text": source.text})
        paths.append(source.path)
        size += weight
    return [p for p in parts if p], paths, too_large


def merge_summaries(summaries: list[dict[str, Any]], too_large: int) -> dict[str, Any]:
    """One summary for a tree sent in parts: counts added up, the last part's removals."""
    total: dict[str, Any] = {}
    for summary in summaries:
        for name, value in summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[name] = total.get(name, 0) + value
            elif isinstance(value, dict):
                inner = total.setdefault(name, {})
                for k, n in value.items():
                    inner[k] = inner.get(k, 0) + n
    total.setdefault("skipped", {})["tooLarge"] = total.get("skipped", {}).get("tooLarge", 0) + too_large
    return total
