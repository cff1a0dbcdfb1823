"""Monthly operation budgets per API key (seed 000's licensing model, docs/operations.md).

Licensing is per key, not per machine: every process using one key draws from one counter row per
operation and UTC calendar month, taken by a conditional upsert (``take_operation_call``), so the
budget holds exactly however many replicas and clients race. A call is counted once its input is
valid and before its work starts; a call refused by its plan or its budget is not counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..errors import BudgetExceeded, PlanRequired
from ..types import iso_ms
from .auth import UPGRADE, Caller
from .core import ServerState
from .settings import Plan

#: Metered operations and the plan field that holds their monthly budget.
METERED = {"answer": "answer_calls", "explore": "explore_calls", "code.ingest": "code_ingest_calls"}
#: Operations that draw on another's budget (seed: "50 recall(answer) + code(locate) / mo").
SHARES = {"code.locate": "answer"}
#: Operations only plans with ``advanced_operations`` may call (seed: "No advanced ops" on Free and Pro).
ADVANCED = ("chunk", "weave", "ripple", "compose", "domain", "prove", "audit", "verify")


def utc_month(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m")


def next_month_ms(ms: int) -> int:
    """The first instant of the UTC month after the one holding ``ms``: when budgets reset."""
    day = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    first = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=dt.UTC)
    return int(first.timestamp() * 1000)


def _limit(plan: Plan, operation: str) -> int | None:
    value: int | None = getattr(plan, METERED[operation])
    return value


def _more(other: int | None, limit: int) -> bool:
    return other is None or other > limit


def charge(srv: ServerState, caller: Caller, operation: str) -> None:
    """Count one call of ``operation`` against the caller's key, or refuse it.

    Raises:
        PlanRequired: an advanced operation on a plan without them.
        BudgetExceeded: the key already made this month's budget of ``operation`` (Retry-After: next month).
    """
    plan = srv.server.plan(caller.root.plan_tier)
    if operation in ADVANCED and not plan.advanced_operations:
        allowing = [p.name for p in srv.server.plans.values() if p.advanced_operations]
        raise PlanRequired(
            f"{operation} is an advanced operation; it needs one of: {', '.join(allowing)}. "
            f"Current plan: {caller.root.plan_tier}.",
            details={
                "operation": operation,
                "current_tier": caller.root.plan_tier,
                "required_tiers": allowing,
                "recovery_options": [UPGRADE],
            },
        )
    operation = SHARES.get(operation, operation)
    if operation not in METERED:
        return
    limit = _limit(plan, operation)
    if limit is None:
        return
    now = srv.now()
    if srv.store.take_operation_call(caller.key.id, utc_month(now), operation, limit) is not None:
        return
    resets = next_month_ms(now)
    allowing = [p.name for p in srv.server.plans.values() if _more(_limit(p, operation), limit)]
    raise BudgetExceeded(
        f"Monthly {operation} budget of this API key reached ({limit:,} / {limit:,} on the "
        f"{caller.root.plan_tier} plan); it resets at {iso_ms(resets)}.",
        retry_after=-(-(resets - now) // 1000),
        details={
            "operation": operation,
            "used": limit,
            "limit": limit,
            "plan_tier": caller.root.plan_tier,
            "resets_at": iso_ms(resets),
            "plans_with_more": allowing,
            "recovery_options": [
                {"action": "wait", "description": f"The budget resets at {iso_ms(resets)}."},
                UPGRADE,
            ],
        },
    )


def budgets(srv: ServerState, caller: Caller) -> dict[str, Any]:
    """This month's budgets of the caller's key: used and limit per metered operation, and the gate."""
    plan = srv.server.plan(caller.root.plan_tier)
    now = srv.now()
    used = srv.store.operation_calls(caller.key.id, utc_month(now))
    return {
        "planTier": caller.root.plan_tier,
        "keyId": caller.key.id,
        "month": utc_month(now),
        "resetsAt": iso_ms(next_month_ms(now)),
        "operations": {op: {"used": used.get(op, 0), "limit": _limit(plan, op)} for op in METERED},
        "advancedOperations": {"allowed": plan.advanced_operations, "operations": list(ADVANCED)},
    }
