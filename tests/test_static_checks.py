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


def test_the_tree_is_ruff_formatted() -> None:
    result = run_tool("ruff", "format", "--check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def _sizes() -> tuple[list[str], list[str]]:
    import ast

    long_files, long_functions = [], []
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if len(text.splitlines()) > 600:
            long_files.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long_functions.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return long_files, long_functions


def test_no_source_file_is_over_600_lines_and_no_function_over_60() -> None:
    long_files, long_functions = _sizes()
    assert long_files == [] and long_functions == [], long_files + long_functions
