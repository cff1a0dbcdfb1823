"""The SDK's consolidate() (an extension), Client and AsyncClient, against the real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from memorylayer.client import models as m
from memorylayer.errors import InvalidRequest, PlanRequired

Make = Callable[..., Any]
TWINS = ["User's favourite colour is blue.", "The user's favourite colour is blue"]


def test_consolidate_plans_then_merges_near_duplicates(sdk: Make) -> None:
    client = sdk()
    ids = [mem.id for mem in client.add_batch("prefs", TWINS, dedup=False).memories]
    plan = client.consolidate("prefs", dry_run=True)
    assert isinstance(plan, m.ConsolidateResponse) and plan.dry_run and plan.merged == 1 and plan.live_after == 1
    assert client.list(scope="prefs", include_total=True).total == 2
    done = client.consolidate("prefs")
    assert done.mode == "merge" and done.method == "offline" and done.merges[0].kept == ids[1]
    assert done.merges[0].members == [ids[0]] and client.list(scope="prefs", include_total=True).total == 1


def test_compose_needs_an_advanced_plan_and_bad_input_is_refused_before_sending(sdk: Make) -> None:
    with pytest.raises(PlanRequired) as caught:
        sdk(plan="pro").consolidate("prefs", mode="compose")
    assert caught.value.status == 403 and caught.value.details["operation"] == "compose"
    assert sdk(plan="team").consolidate("prefs", mode="compose").composites == []
    with pytest.raises(InvalidRequest) as refused:
        sdk().consolidate("")
    assert refused.value.status == 0 and refused.value.details[0]["path"] == ["scope"]
