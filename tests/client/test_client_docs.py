"""The examples in docs/sdk.md run as written, against the real server over a real socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sdk_helpers import RealServer, serve

from memorylayer.client import memory

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```python\n(.*?)```", re.DOTALL)


def runnable_blocks() -> list[str]:
    return [code for skip, code in BLOCK.findall(DOC.read_text(encoding="utf-8")) if not skip]


@pytest.fixture(scope="module")
def served_app(real_server: RealServer) -> Iterator[str]:
    with serve(real_server.app) as url:
        yield url


def test_docs_have_runnable_examples() -> None:
    assert len(runnable_blocks()) >= 8


def test_every_sdk_doc_example_runs(
    served_app: str,
    real_server: RealServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEMORYLAYER_BASE_URL", served_app)
    monkeypatch.setenv("MEMORYLAYER_API_KEY", real_server.new_key("pro"))
    try:
        for number, code in enumerate(runnable_blocks(), 1):
            try:
                exec(compile(code, f"docs/sdk.md example {number}", "exec"), {"__name__": "__docs__"})  # noqa: S102 - running our own docs
            except Exception as exc:
                raise AssertionError(f"docs/sdk.md example {number} failed:\n{code}") from exc
    finally:
        memory.configure()
        memory.close()

    printed = capsys.readouterr().out
    assert "timezone: Europe/Lisbon" in printed
    assert "user:city: Lisbon" in printed
    assert "404 not_found" in printed
    assert "False" not in printed.split(), printed  # every remove and delete found what it deleted
