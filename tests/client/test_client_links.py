"""The SDK's weave(), explore() and ripple() (extensions), Client and AsyncClient, against the real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from memorylayer.client import models as m
from memorylayer.errors import InvalidRequest, NotFound, PlanRequired

Make = Callable[..., Any]
FACTS = ["Yesterday Melanie painted a sunrise.", "The daughter of Melanie is Sky.", "User drinks green tea."]


def test_weave_then_explore_reaches_the_linked_memory_with_its_path(sdk: Make) -> None:
    client = sdk(plan="team")
    sunrise, daughter, _ = [mem.id for mem in client.add_batch("life", FACTS, dedup=False).memories]
    woven = client.weave("life")
    assert isinstance(woven, m.WeaveResponse) and woven.links == {"entity": 1} and woven.memories == 3
    out = client.explore("life", "What did Melanie paint?", max_items=2, seeds=1)
    assert isinstance(out, m.ExploreResponse) and [h.memory.id for h in out.hits] == [sunrise, daughter]
    step = out.hits[1].path[0]
    assert step.from_ == sunrise and step.kind == "entity" and out.hits[1].hop == 1


def test_ripple_previews_then_flags_and_unknown_ids_are_not_found(sdk: Make) -> None:
    client = sdk(plan="team")
    (fact,) = [mem.id for mem in client.add_batch("life", FACTS[:1], dedup=False).memories]
    preview = client.ripple(fact)
    assert isinstance(preview, m.RippleResponse) and preview.memory_id == fact and not preview.applied
    assert preview.dependants == [] and client.ripple(fact, apply=True).applied
    with pytest.raises(NotFound):
        client.ripple("0b1c6f53-3c2e-4d0e-9d59-1d2a1f4e0c11")


def test_the_advanced_gate_and_bad_input_refused_before_sending(sdk: Make) -> None:
    with pytest.raises(PlanRequired) as caught:
        sdk(plan="pro").weave("life")
    assert caught.value.details["operation"] == "weave"
    client = sdk()
    for call, path in (
        (lambda: client.explore("life", ""), ["query"]),
        (lambda: client.explore("life", "q", max_hops=9), ["maxHops"]),
        (lambda: client.explore("life", "q", max_nodes=0), ["maxNodes"]),
        (lambda: client.weave(""), ["scope"]),
    ):
        with pytest.raises(InvalidRequest) as refused:
            call()
        assert refused.value.status == 0 and refused.value.details[0]["path"] == path
    with pytest.raises(InvalidRequest) as server_side:
        client.explore("life", "q", decay=3)
    assert server_side.value.status == 400 and server_side.value.details[0]["path"] == ["decay"]
