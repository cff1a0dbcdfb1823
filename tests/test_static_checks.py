"""The type checker and the linter pass on the tree, so CI enforces STYLE.md's `mypy --strict` and ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )


def test_mypy_strict_reports_no_errors_in_the_package() -> None:
    result = run_tool("mypy", "--strict", "src/memorylayer")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reports_no_lint_errors_in_src_tests_and_bench() -> None:
    result = run_tool("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
