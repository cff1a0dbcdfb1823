"""Engine operations beyond store and search: code memory and formal reasoning (docs/reasoning.md).

A mixin of :class:`~memorylayer.engine.core.Engine`, so each operation is one engine call like the rest.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import limits
from ..errors import InvalidRequest
from ..sourcetree import Skipped, SourceFile, walk
from . import code, reasoning
from . import validation as v
from .code import IngestSummary, Location
from .reasoning import AuditResult, Domain, ProofResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from .core import Engine


class CodeAndReasoning:
    """``code_ingest``, ``code_locate``, ``set_domain``, ``domain``, ``prove`` and ``audit``."""

    @property
    def _engine(self) -> Engine:
        return cast("Engine", self)

    def code_ingest(
        self,
        scope: str,
        *,
        root: str | Path | None = None,
        files: builtins.list[SourceFile] | None = None,
        prune: bool = True,
        present: builtins.list[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestSummary:
        """Index a source folder (``root``, read here) or ``files`` (sent by a client) into ``scope``.

        Incremental by content hash; with ``prune`` files of the scope no longer present are forgotten
        (``present``: more paths that count as present, for a tree sent in parts).

        Raises:
            InvalidRequest: neither or both of ``root`` and ``files``, a bad scope, path or file.
        """
        scope = v.scope(scope)
        if (root is None) == (files is None):
            raise InvalidRequest("code ingest needs a folder (root) or a list of files, not both")
        skipped = Skipped()
        sources = walk(root, skipped) if root is not None else v.source_files(files)
        if present is not None and not (isinstance(present, builtins.list) and all(type(p) is str for p in present)):
            raise InvalidRequest("present: expected a list of paths")
        return code.ingest(
            self._engine, scope, sources, prune=prune, present=present, skipped=skipped, progress=progress
        )

    def code_locate(self, scope: str, query: str, *, top_k: int = limits.DEFAULT_TOP_K) -> builtins.list[Location]:
        """Where ``query`` is answered in the code of ``scope``: ``path:lines``, symbol, snippet; best first.

        Raises:
            InvalidRequest: a bad scope, query or ``top_k``.
        """
        scope = v.scope(scope)
        top_k = v.integer(top_k, "top_k", limits.TOP_K)
        return code.locate(self._engine, scope, v.query(query), top_k=top_k)

    def set_domain(self, scope: str, domain: Any) -> Domain:
        """Declare (or replace) the typed vocabulary and rules of ``scope``; returns it parsed.

        Raises:
            InvalidRequest: the domain is malformed (the details name the field).
            Unsatisfiable: its rules contradict each other for every instance (the rules named).
        """
        return reasoning.set_domain(self._engine, v.scope(scope), domain)

    def domain(self, scope: str) -> Domain:
        """The domain declared for ``scope``.

        Raises:
            NotFound: ``scope`` has no domain.
        """
        return reasoning.load_domain(self._engine, v.scope(scope))

    def prove(self, scope: str, statement: Any, *, timeout_ms: int = limits.DEFAULT_PROOF_MS) -> ProofResult:
        """Check ``statement`` against the domain's rules and the bound facts of ``scope`` with Z3.

        Raises:
            InvalidRequest: a malformed statement or time limit.
            NotFound: ``scope`` has no domain.
            Unsatisfiable: the facts and rules contradict each other already (run ``audit``).
        """
        timeout_ms = v.integer(timeout_ms, "timeout_ms", limits.PROOF_MS)
        return reasoning.prove(self._engine, v.scope(scope), statement, timeout_ms)

    def audit(self, scope: str, *, timeout_ms: int = limits.DEFAULT_PROOF_MS) -> AuditResult:
        """Contradictions among the facts and rules of ``scope`` (each an unsat core) and facts that break rules.

        Raises:
            NotFound: ``scope`` has no domain.
        """
        timeout_ms = v.integer(timeout_ms, "timeout_ms", limits.PROOF_MS)
        return reasoning.audit(self._engine, v.scope(scope), timeout_ms)
