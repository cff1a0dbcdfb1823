"""Shared fixtures: every test gets its own MemoryLayer home; the real model loads once per process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memorylayer.engine import Engine


@pytest.fixture(autouse=True)
def memorylayer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MEMORYLAYER_HOME", str(home))
    for name in (
        "MEMORYLAYER_LLM_BASE_URL",
        "MEMORYLAYER_LLM_API_KEY",
        "MEMORYLAYER_RERANKER_PATH",
        "MEMORYLAYER_DATABASE",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def engine(memorylayer_home: Path) -> Iterator[Engine]:
    eng = Engine.open(memorylayer_home)
    yield eng
    eng.close()
