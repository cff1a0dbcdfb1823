"""Helpers for the server tests: the real app on a real SQLite file, a movable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.server import ServerSettings, admin, create_app
from memorylayer.server.core import ServerState
from support import Clock


@dataclass
class Server:
    client: TestClient
    state: ServerState
    clock: Clock
    keys: dict[str, str] = field(default_factory=dict)

    def account(self, email: str, plan: str | None = None, scopes: str | None = None) -> tuple[str, str]:
        """A new account on ``plan`` (default: the configured default) and a raw key for it: (account id, raw key)."""
        account = admin.create_account(self.state.store, self.state.server, email, plan=plan)
        kwargs: dict[str, Any] = {"scopes": scopes} if scopes else {}
        _, raw = admin.create_key(self.state.store, account.id, **kwargs)
        return account.id, raw

    def call(self, method: str, path: str, key: str | None = None, json: Any = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.client.request(method, path, json=json, headers=headers, **kw)


def build(home: Path, server: ServerSettings | None = None) -> Server:
    settings = Settings.load(home=home)
    engine = Engine.open(settings=settings)
    clock = Clock()
    app = create_app(settings, server=server or ServerSettings.load(home), engine=engine, clock=clock)
    client = TestClient(app, raise_server_exceptions=False)
    return Server(client=client, state=app.state.server, clock=clock)
