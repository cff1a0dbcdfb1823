"""Operator settings of the server: plans, limits, proxy trust and SMTP.

Read from ``<home>/server.toml`` (top-level keys plus ``[plans.<tier>]`` tables), then the
environment (``MEMORYLAYER_<NAME>``, e.g. ``MEMORYLAYER_SMTP_HOST``), then explicit overrides.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest

SERVER_CONFIG_FILE = "server.toml"
UNLIMITED = None


@dataclass(frozen=True)
class Plan:
    """One plan tier. ``containers`` None means unlimited; ``mcp_daily_calls`` counts per API key per UTC day."""

    name: str
    memory_limit: int
    monthly_api_calls: int
    containers: int | None
    custom_prompt: bool
    mcp_daily_calls: int
    #: Largest encrypted namespace ``sync push`` may store (bytes, per namespace).
    sync_bytes: int = 64 * 1024 * 1024


_MIB = 1024 * 1024
#: The hosted service's tiers (spec §10.2) with the MCP server's daily call limits (seed 001: Free 200,
#: Pro 2,000, Pro+ 20,000; basic counts as Pro, team and enterprise as Pro+), and the largest sync blob
#: per namespace (Pro's holds a namespace of its 100k memories with their vectors). A ``[plans.<tier>]``
#: table in server.toml overrides or adds one.
DEFAULT_PLANS: dict[str, Plan] = {
    "free": Plan("free", 1_000, 10_000, 0, False, 200, 16 * _MIB),
    "basic": Plan("basic", 10_000, 100_000, 0, False, 2_000, 64 * _MIB),
    "pro": Plan("pro", 100_000, 1_000_000, 10, True, 2_000, 512 * _MIB),
    "team": Plan("team", 500_000, 5_000_000, 100, True, 20_000, 2048 * _MIB),
    "enterprise": Plan("enterprise", 100_000_000, 100_000_000, UNLIMITED, True, 20_000, 8192 * _MIB),
}

TRUSTED_IP_HEADERS = ("", "cf-connecting-ip", "x-forwarded-for", "x-real-ip")


@dataclass(frozen=True)
class ServerSettings:
    #: Base URL clients reach this server at (used for ``claimUrl``); empty = the request's own base URL.
    public_url: str = ""
    #: Which proxy header carries the client IP; empty trusts only the socket peer address.
    trusted_ip_header: str = ""
    default_plan: str = "free"
    cache_creations_per_ip: int = 3
    cache_creation_window_s: int = 86_400
    cache_max_entries: int = 50
    codes_per_ip_per_hour: int = 20
    codes_per_email_per_hour: int = 3
    code_ttl_s: int = 600
    code_max_attempts: int = 5
    code_lock_s: int = 1_800
    api_call_window_s: int = 30 * 86_400
    #: How long a dashboard sign-in lasts (its cookie, its session row and the key behind it).
    session_ttl_s: int = 7 * 86_400
    smtp_host: str = ""
    smtp_port: int = 587
    #: "starttls", "ssl" or "none".
    smtp_tls: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "memorylayer@localhost"
    smtp_timeout: float = 10.0
    #: Key of the sign-in codes' hashes (32+ characters); empty: ``<home>/server.secret``, made on first
    #: start. Replicas sharing one database need the same one.
    server_secret: str = ""
    plans: dict[str, Plan] = field(default_factory=lambda: dict(DEFAULT_PLANS))

    def plan(self, tier: str) -> Plan:
        """The plan for ``tier``; an unknown tier (set directly in the DB) behaves like the default plan."""
        return self.plans.get(tier) or self.plans[self.default_plan]

    def with_(self, **changes: Any) -> ServerSettings:
        return replace(self, **changes)

    @classmethod
    def load(cls, home: Path, **overrides: Any) -> ServerSettings:
        """Defaults < ``<home>/server.toml`` < environment < ``overrides``.

        Raises:
            InvalidRequest: bad TOML, an unknown key, a wrong type or an unknown plan/TLS mode.
        """
        values: dict[str, Any] = {}
        path = home / SERVER_CONFIG_FILE
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidRequest(f"{path}: {exc}") from exc
        known = {f.name: f for f in fields(cls)}
        for name in known:
            env = os.environ.get(f"MEMORYLAYER_{name.upper()}")
            if env is not None and name != "plans":
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(known)
        if unknown:
            raise InvalidRequest(f"{SERVER_CONFIG_FILE}: unknown setting(s): {', '.join(sorted(unknown))}")
        plans = dict(DEFAULT_PLANS)
        for tier, spec in (values.pop("plans", None) or {}).items():
            plans[tier] = _plan(tier, spec, plans.get(tier))
        out: dict[str, Any] = {"plans": plans}
        for name, value in values.items():
            kind = known[name].type
            try:
                if kind in ("int", int):
                    out[name] = int(value)
                elif kind in ("float", float):
                    out[name] = float(value)
                else:
                    out[name] = str(value)
            except (TypeError, ValueError) as exc:
                raise InvalidRequest(f"server setting {name}: {exc}") from exc
        settings = cls(**out)
        if settings.default_plan not in settings.plans:
            raise InvalidRequest(f"default_plan {settings.default_plan!r} is not a configured plan")
        if settings.smtp_tls not in ("starttls", "ssl", "none"):
            raise InvalidRequest("smtp_tls must be starttls, ssl or none")
        if settings.trusted_ip_header.lower() not in TRUSTED_IP_HEADERS:
            raise InvalidRequest("trusted_ip_header must be one of: " + ", ".join(h for h in TRUSTED_IP_HEADERS if h))
        return settings


def _plan(tier: str, spec: Any, base: Plan | None) -> Plan:
    if not isinstance(spec, dict):
        raise InvalidRequest(f"plans.{tier} must be a table")
    allowed = {"memory_limit", "monthly_api_calls", "containers", "custom_prompt", "mcp_daily_calls", "sync_bytes"}
    extra = set(spec) - allowed
    if extra:
        raise InvalidRequest(f"plans.{tier}: unknown key(s): {', '.join(sorted(extra))}")
    merged: dict[str, Any] = {
        "memory_limit": base.memory_limit if base else 1_000,
        "monthly_api_calls": base.monthly_api_calls if base else 10_000,
        "containers": base.containers if base else 0,
        "custom_prompt": base.custom_prompt if base else False,
        "mcp_daily_calls": base.mcp_daily_calls if base else DEFAULT_PLANS["free"].mcp_daily_calls,
        "sync_bytes": base.sync_bytes if base else DEFAULT_PLANS["free"].sync_bytes,
    }
    merged.update(spec)
    containers = merged["containers"]
    if containers is not None and (not isinstance(containers, int) or containers < 0):
        # TOML has no null: a negative number or the string "unlimited" means no cap.
        if containers == "unlimited" or (isinstance(containers, int) and containers < 0):
            containers = None
        else:
            raise InvalidRequest(f'plans.{tier}.containers must be an integer or "unlimited"')
    try:
        return Plan(
            tier,
            int(merged["memory_limit"]),
            int(merged["monthly_api_calls"]),
            containers,
            bool(merged["custom_prompt"]),
            int(merged["mcp_daily_calls"]),
            int(merged["sync_bytes"]),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"plans.{tier}: {exc}") from exc
