"""A real server (uvicorn on a socket, its own home) and registry users who drive the real CLI.

Each user has a home of their own (their local database, auth.json and downloads), an account and a
full-scope key on the server; ``run`` invokes the CLI in-process with that home and key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from memorylayer.cli import app
from memorylayer.server.core import ServerState

runner = CliRunner()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error(self) -> str:
        return str(json.loads(self.out)["error"]["code"])


@dataclass
class User:
    name: str
    email: str
    key: str
    home: Path
    url: str
    database: str = ""  # empty: the SQLite file in ``home``

    def run(self, *args: str, key: str | None = "", cwd: Path | None = None) -> Result:
        """The CLI as this user: their home, their key (``key=None`` runs without one), this registry."""
        env = {
            "MEMORYLAYER_HOME": str(self.home),
            "MEMORY_API_KEY": self.key if key == "" else key,
            "MEMORYLAYER_REGISTRY": self.url,
            "MEMORYLAYER_DATABASE": self.database,
        }
        if cwd is None:
            cwd = self.home / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        import os

        before = os.getcwd()
        os.chdir(cwd)
        try:
            result = runner.invoke(app, list(args), env=env)
        finally:
            os.chdir(before)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def remember(self, namespace: str, *values: str) -> None:
        for value in values:
            assert self.run("remember", value, "-n", namespace).code == 0

    def package(self, name: str, namespace: str, *values: str, **manifest: Any) -> Path:
        """A package directory with memory.json for ``name`` over ``namespace`` holding ``values``."""
        self.remember(namespace, *values)
        directory = self.home / "packages" / name.replace("/", "_")
        directory.mkdir(parents=True, exist_ok=True)
        body = {
            "name": name,
            "version": "1.0.0",
            "description": "",
            "keywords": [],
            "memorylayer": {"namespace": namespace},
            **manifest,
        }
        (directory / "memory.json").write_text(json.dumps(body), encoding="utf-8")
        return directory

    def publish(self, directory: Path, *args: str) -> Result:
        return self.run("publish", "--json", *args, cwd=directory)

    def values(self, namespace: str) -> list[str]:
        listed = self.run("list", "-n", namespace, "--limit", "1000", "--json")
        assert listed.code == 0, listed.out
        return sorted(m["value"] for m in listed.json["memories"])


@dataclass
class Registry:
    url: str
    state: ServerState
    home: Path
    clock: Any
    users: dict[str, User]

    def __getitem__(self, name: str) -> User:
        return self.users[name]
