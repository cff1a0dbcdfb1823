"""The ``memorylayer`` command line. Each command module registers its commands on ``app``.

Built on first use, so ``import memorylayer.cli`` is cheap and a bare SDK install (no ``[local]``
extra) gets an install hint instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .._version import DISTRIBUTION

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

#: Third-party modules the command line itself needs (the ``[local]`` extra).
_LOCAL = {"typer", "rich", "click", "platformdirs", "numpy", "onnxruntime", "tokenizers", "snowballstemmer", "simsimd"}


def _build() -> typer.Typer:
    # Each module registers its commands on import.
    from . import (  # noqa: F401
        admin,
        bulk,
        code_cmd,
        consolidate_cmd,
        doctor,
        links_cmd,
        mcp_cmd,
        memory,
        migrate_store,
        operations,
        registry,
        registry_access,
        serve,
        sync,
    )
    from .root import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    try:
        app = _build()
    except ModuleNotFoundError as exc:
        if exc.name not in _LOCAL:
            raise
        sys.exit(
            f"error [not_configured] the memorylayer command needs the local engine ({exc.name} is not "
            f"installed): pip install '{DISTRIBUTION}[local]'"
        )
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
