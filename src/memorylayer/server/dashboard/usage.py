"""Usage: memories against the plan, this period's API calls, today's MCP calls per key, and a chart of
calls per day drawn as server-rendered SVG (no script, no charting library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request, Response

from ... import limits
from ...store.usage import DailyUsage
from ..auth import period_json
from ..core import ServerState, state
from . import sessions
from .sessions import SESSION_KEY_NAME
from .web import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws: bars, axis ticks, and the numbers behind them (as a table too)."""

    days: list[DailyUsage]
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM

    @property
    def total_api(self) -> int:
        return sum(d.api_calls for d in self.days)

    @property
    def total_mcp(self) -> int:
        return sum(d.mcp_calls for d in self.days)


def _nice_step(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def usage_chart(srv: ServerState, account_ids: list[str], days: int = limits.USAGE_CHART_DAYS) -> Chart:
    """API and MCP calls of ``account_ids`` per UTC day over the last ``days`` days, today included."""
    today = date.fromisoformat(srv.today())
    first = today - timedelta(days=days - 1)
    counted = {d.day: d for d in srv.usage.daily_usage(account_ids, first.isoformat())}
    series = [counted.get(day, DailyUsage(day)) for day in ((first + timedelta(n)).isoformat() for n in range(days))]
    # Four gridlines at whole numbers: the top is four nice steps.
    top = 4 * _nice_step(-(-max([max(d.api_calls, d.mcp_calls) for d in series] + [1]) // 4))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / days
    bars = []
    for n, day in enumerate(series):
        for offset, name, value in ((0.1, "api", day.api_calls), (0.5, "mcp", day.mcp_calls)):
            height = plot_h * value / top
            label = f"{day.day}: {value:,} {'API' if name == 'api' else 'MCP'} calls"
            bars.append(Bar(LEFT + slot * (n + offset), TOP + plot_h - height, slot * 0.4, height, name, label))
    y_ticks = [Tick(TOP + plot_h - plot_h * i / 4, f"{top * i // 4:,}") for i in range(5)]
    x_ticks = [Tick(LEFT + slot * (n + 0.5), series[n].day[5:]) for n in range(0, days, 7)]
    return Chart(series, bars, y_ticks, x_ticks)


@router.get("/usage")
def usage_page(request: Request) -> Response:
    viewer = sessions.required(request)
    srv = state(request)
    account = viewer.account
    containers = srv.store.containers(account.id)
    ids = [account.id, *(c.id for c in containers)]
    period = period_json(srv, account.current_period_start, account.api_calls_this_period, srv.now())
    plan = srv.server.plan(account.plan_tier)
    today = srv.today()
    keys = [(owner, k) for owner in [account, *containers] for k in srv.store.list_keys(owner.id)]
    now = srv.now()
    live = [
        (o, k)
        for o, k in keys
        if k.revoked_at is None and (k.expires_at is None or k.expires_at > now) and k.issued_to != SESSION_KEY_NAME
    ]
    mcp = [(o, k, srv.store.daily_calls(k.id, today)) for o, k in live]
    context = {
        "viewer": viewer,
        "title": "Usage",
        "plan": plan,
        "memory_count": srv.engine.count_accounts(ids),
        "per_container": [(c, srv.engine_for(c.id).count()) for c in containers],
        "calls": period["apiCallsThisPeriod"],
        "resets_at": str(period["apiCallsResetAt"])[:16].replace("T", " ") + " UTC",
        "mcp": mcp,
        "mcp_today": sum(n for _, _, n in mcp),
        "chart": usage_chart(srv, ids),
    }
    return page(request, "usage.html", csrf=viewer.csrf, **context)
