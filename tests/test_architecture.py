"""The architecture holds: the import-linter contracts in pyproject.toml pass on the package.

Edges (cli, server, mcp_server, client) sit over the engine, the engine over the stores and models, and
those over settings, limits, records and errors; the SDK imports nothing of the engine, the stores,
the server or their heavy dependencies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_the_import_contracts_of_pyproject_are_all_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
