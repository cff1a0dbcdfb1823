"""One settings object for every part of MemoryLayer.

Precedence, highest first: explicit argument (a CLI flag) > environment variable >
``config.toml`` in the MemoryLayer home > built-in default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from .errors import InvalidRequest
from .limits import BUSY_TIMEOUT_MS

HOME_ENV = "MEMORYLAYER_HOME"
CONFIG_FILE = "config.toml"
DATABASE_FILE = "memory.db"


def default_home() -> Path:
    """``$MEMORYLAYER_HOME``, else the platform's per-user data directory."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("memorylayer", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Each field maps to env var ``MEMORYLAYER_<NAME>`` and config key ``name``."""

    home: Path = field(default_factory=default_home)
    #: A SQLite path or ``sqlite:///path`` URL, or a ``postgresql://`` URL; empty means ``<home>/memory.db``.
    database: str = ""
    #: OpenAI-compatible chat-completions endpoint for extraction; empty means the offline rules extractor.
    llm_base_url: str = ""
    llm_model: str = "gpt-4.1-mini"
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    #: Directory holding a cross-encoder ``model.onnx`` + ``tokenizer.json``; empty disables reranking.
    reranker_path: str = ""
    #: onnxruntime intra-op threads for the embedder.
    embed_threads: int = 2
    #: The package registry `login`, `publish` and `add` talk to; empty means the local server.
    registry: str = ""
    #: How long a write waits for another process's write lock before failing with ``storage_busy`` (ms).
    busy_timeout_ms: int = BUSY_TIMEOUT_MS

    @property
    def database_url(self) -> str:
        """The database this configuration points at, for :func:`memorylayer.store.open_backend`."""
        return self.database or f"sqlite:///{self.home / DATABASE_FILE}"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from defaults, the config file, the environment and ``overrides``.

        Raises:
            InvalidRequest: the config file is not valid TOML or a value has the wrong type.
        """
        home = Path(overrides["home"]) if overrides.get("home") else default_home()
        values: dict[str, Any] = {"home": home}
        config_file = home / CONFIG_FILE
        if config_file.is_file():
            try:
                values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidRequest(f"{config_file}: {exc}") from exc
        for f in fields(cls):
            env = os.environ.get(f"MEMORYLAYER_{f.name.upper()}")
            if env is not None and f.name != "home":
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise InvalidRequest(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**{k: _coerce(known[k].type, k, v) for k, v in values.items()})

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _coerce(type_name: Any, name: str, value: Any) -> Any:
    try:
        if type_name in ("int", int):
            return int(value)
        if type_name in ("float", float):
            return float(value)
        if type_name in ("Path", Path):
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"setting {name}: {exc}") from exc
