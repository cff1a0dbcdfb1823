"""consolidate and consolidate(compose) on the real engine, model and store (docs/operations.md)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.consolidation import DECAY_BELOW, activation
from memorylayer.engine.extraction import OpenAIExtractor
from memorylayer.errors import ExtractionFailed, InvalidRequest, QuotaExceeded
from memorylayer.types import MemoryRecord, NewMemory, now_ms
from standins.openai_chat import ChatCompletionsStandIn

DAY = 86_400_000
COLOUR = ["User's favourite colour is blue.", "The user's favourite colour is blue"]
TORONTO = ["User lives in Toronto.", "The user lives in Toronto, Canada."]
DIFFERENT = [
    "Server A is 10.0.0.1",
    "Server B is 10.0.0.2",
    "Joanna: Bye Nate!",
    "Nate: Bye Joanna!",
    "Carlos Eriksen has a dog named Bo.",
    "Tomas Eriksen has a dog named Bo.",
]
WORK = ["User works at Acme Corp as an engineer.", "User's manager is Dana.", "User's team ships the billing service."]
WORK_QUESTION = "where does the user work, who is the manager and what does the team ship?"


def _store(engine: Engine, values: list[str], scope: str = "s", **fields: object) -> list[str]:
    items = [NewMemory(v, **fields) for v in values]  # type: ignore[arg-type]
    return [m.id for m in engine.add_batch(scope, items, dedup=False).memories]


def _live(engine: Engine, scope: str = "s") -> dict[str, str]:
    return {m.id: m.value for m in engine.iter_all(scope=scope)}


def test_near_duplicates_merge_into_their_most_informative_member_and_stay_readable(engine: Engine) -> None:
    colour, toronto = _store(engine, COLOUR), _store(engine, TORONTO)
    others = _store(engine, DIFFERENT)
    result = engine.consolidate("s")
    assert result.method == "offline" and result.merged == 2 and result.live_before == 10 and result.live_after == 8
    kept = {m.kept: m.members for m in result.merges}
    # The wording with more terms stays (with as many, the longer), the other is superseded by it.
    assert kept == {colour[1]: [colour[0]], toronto[1]: [toronto[0]]}
    assert set(_live(engine)) == {colour[1], toronto[1], *others}
    superseded = engine.get(toronto[0])
    assert superseded.superseded_by == toronto[1] and superseded.value == TORONTO[0]
    assert [h.event for h in engine.history(toronto[0])] == ["superseded"]
    # The link store says what each kept memory was made from (ripple follows it).
    links = engine.store.links_of(engine.account, [colour[1], toronto[1]], kinds=["derived"])
    assert {(link.source, link.target) for link in links} == {(colour[1], colour[0]), (toronto[1], toronto[0])}
    # Different numbers, speakers or people are never the same fact, however close their vectors.
    assert engine.consolidate("s").merges == []


def test_a_dry_run_returns_the_plan_the_apply_then_carries_out_and_writes_nothing(engine: Engine) -> None:
    _store(engine, [*COLOUR, *TORONTO])
    _store(engine, ["User once mentioned liking jazz."], importance=0.1, created_at=now_ms() - 120 * DAY)
    before = _live(engine)
    plan = engine.consolidate("s", dry_run=True)
    assert plan.dry_run and plan.merged == 2 and len(plan.decays) == 1 and plan.live_after == 2
    assert _live(engine) == before and all(engine.history(i) == [] for i in before)
    done = engine.consolidate("s")
    assert [(m.kept, m.members) for m in done.merges] == [(m.kept, m.members) for m in plan.merges]
    assert done.decays == plan.decays and len(_live(engine)) == done.live_after == 2


def test_a_stale_low_importance_memory_decays_into_history_unless_recalled(engine: Engine) -> None:
    long_ago = now_ms() - 120 * DAY
    stale, recalled = _store(
        engine, ["User once mentioned liking jazz.", "User keeps a spare key under the mat."],
        importance=0.1, created_at=long_ago,
    )  # fmt: skip
    default = _store(engine, ["User once tried sushi."], created_at=long_ago)[0]
    keyed = engine.add("s", "window seat", key="seat", importance=0.1, created_at=long_ago).memories[0].id
    fresh = _store(engine, ["User is reading a new novel."], importance=0.1)[0]
    assert [m.id for m in engine.recall("s", "where is the spare key?").memories][0] == recalled
    result = engine.consolidate("s")
    assert [d.memory_id for d in result.decays] == [stale]
    assert result.decays[0].activation < DECAY_BELOW
    assert set(_live(engine)) == {recalled, default, keyed, fresh}
    (entry,) = engine.history(stale)
    assert entry.event == "decayed" and entry.value == "User once mentioned liking jazz." and entry.importance == 0.1


def test_activation_is_the_act_r_base_level_over_the_write_and_every_recall() -> None:
    now = 1_000 * DAY
    record = MemoryRecord("m", "s", None, "v", {}, 0.1, "explicit", "ready", now - 100 * DAY, now - 100 * DAY)
    assert activation(record, [], now) == pytest.approx(math.log(100**-0.5))
    assert activation(record, [now - 4 * DAY], now) == pytest.approx(math.log(100**-0.5 + 4**-0.5))
    # Recalls counted before the log existed are spread between the write and the last recall.
    older = MemoryRecord(
        "m", "s", None, "v", {}, 0.1, "explicit", "ready", now - 100 * DAY, now - 100 * DAY,
        last_recalled_at=now - 10 * DAY, recall_count=2,
    )  # fmt: skip
    assert activation(older, [], now) == pytest.approx(math.log(100**-0.5 + 10**-0.5 + 55**-0.5))


def test_compose_compiles_memories_recalled_together_and_recall_returns_them_as_one(engine: Engine) -> None:
    parts = _store(engine, WORK)
    _store(engine, ["User's cat is called Miso.", "User likes hiking in the Alps."])
    assert engine.consolidate("s", mode="compose").composites == []  # never recalled together yet
    for _ in range(3):
        assert {m.id for m in engine.recall("s", WORK_QUESTION).memories} == set(parts)
    plan = engine.consolidate("s", mode="compose", dry_run=True)
    assert [(sorted(c.parts), c.corecalls, c.id) for c in plan.composites] == [(sorted(parts), 3, None)]
    result = engine.consolidate("s", mode="compose")
    (composite,) = result.composites
    stored = engine.get(composite.id or "")
    assert stored.metadata["composite"] is True and sorted(stored.metadata["parts"]) == sorted(parts)
    assert all(v in stored.value for v in WORK) and set(parts) <= set(_live(engine))  # the parts stay
    links = engine.store.links_of(engine.account, [stored.id], kinds=["part_of"])
    assert sorted(link.target for link in links) == sorted(parts) and {link.source for link in links} == {stored.id}
    recalled = engine.recall("s", "who is the user's manager and where do they work?")
    assert [m.id for m in recalled.memories][0] == composite.id
    assert not set(parts) & {m.id for m in recalled.memories}  # the unit stands in for its parts
    assert engine.consolidate("s", mode="compose").composites == []  # the same parts are not composed twice


def test_recalls_keep_the_recall_log_to_a_year_without_a_consolidate(engine: Engine) -> None:
    (tea,) = _store(engine, ["User drinks green tea every morning."])
    now = now_ms()
    engine.store.mark_recalled(engine.account, [tea], now - 400 * DAY)  # logged before the year began
    engine.store.mark_recalled(engine.account, [tea], now - 300 * DAY)
    engine._shared.last_sweep = 0  # as in a process whose last sweep was long ago
    engine.recall("s", "what does the user drink?")
    ages = sorted(round((now - at) / DAY) for _, _, at in engine.store.recalls(engine.account, "s", 0))
    assert ages == [0, 300]  # the 400-day-old row went; this recall's own row was logged


def test_bad_input_is_refused_and_writes_nothing(engine: Engine) -> None:
    _store(engine, COLOUR)
    for call in (
        lambda: engine.consolidate("s", mode="fold"),
        lambda: engine.consolidate(""),
        lambda: engine.consolidate("s", dry_run="yes"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidRequest):
            call()
    assert len(_live(engine)) == 2
    assert engine.consolidate("never-written").live_before == 0


def test_a_refused_write_leaves_nothing_half_done(engine: Engine) -> None:
    parts = _store(engine, WORK)
    _store(engine, COLOUR)
    for _ in range(3):
        engine.recall("s", WORK_QUESTION)
    before = _live(engine)

    def refuse(added: int) -> None:
        raise QuotaExceeded("over the memory limit")

    with pytest.raises(QuotaExceeded):
        engine.consolidate("s", mode="compose", admit=refuse)
    assert _live(engine) == before and all(engine.history(i) == [] for i in parts)
    assert engine.store.links_of(engine.account, parts) == []


@pytest.fixture
def llm() -> Iterator[ChatCompletionsStandIn]:
    with ChatCompletionsStandIn(api_key="sk-merge", model="merge-model") as server:
        yield server


@pytest.fixture
def llm_engine(memorylayer_home: Path, llm: ChatCompletionsStandIn) -> Iterator[Engine]:
    extractor = OpenAIExtractor(llm.base_url, "merge-model", api_key="sk-merge", timeout=5.0)
    engine = Engine.open(memorylayer_home, extractor=extractor)
    yield engine
    engine.close()


def test_a_configured_model_summarises_each_cluster_into_one_new_memory(
    llm_engine: Engine, llm: ChatCompletionsStandIn
) -> None:
    ids = _store(llm_engine, TORONTO)
    llm.reply_content(json.dumps({"summary": "User lives in Toronto, Canada."}))
    result = llm_engine.consolidate("s")
    (merge,) = result.merges
    assert result.method == "llm" and sorted(merge.members) == sorted(ids)
    summary = llm_engine.get(merge.kept or "")
    assert summary.value == "User lives in Toronto, Canada." and sorted(summary.metadata["derived_from"]) == sorted(ids)
    assert all(llm_engine.get(i).superseded_by == summary.id for i in ids)
    derived = llm_engine.store.links_of(llm_engine.account, [summary.id], kinds=["derived"])
    assert sorted(link.target for link in derived) == sorted(ids)
    sent = json.loads(llm.requests[-1].body["messages"][1]["content"])
    assert sorted(sent["memories"]) == sorted(TORONTO)
    # Offline keeps the most informative member instead, even with a model configured.
    assert llm_engine.consolidate("s", offline=True).merges == []


def test_a_model_that_fails_writes_nothing_and_an_empty_summary_keeps_a_member(
    llm_engine: Engine, llm: ChatCompletionsStandIn
) -> None:
    ids = _store(llm_engine, TORONTO)
    llm.reply_content("this is not json")
    with pytest.raises(ExtractionFailed):
        llm_engine.consolidate("s")
    assert set(_live(llm_engine)) == set(ids)
    llm.reply_content(json.dumps({"summary": "  "}))
    (merge,) = llm_engine.consolidate("s").merges
    assert merge.kept == ids[1] and merge.summary is None


def test_a_memory_changed_while_the_plan_was_made_is_left_out_of_the_apply(
    llm_engine: Engine, llm: ChatCompletionsStandIn
) -> None:
    colour, toronto = _store(llm_engine, COLOUR), _store(llm_engine, TORONTO)
    llm.reply_content(json.dumps({"summary": "A summary of the cluster."}))
    llm.reply_slowly()  # the plan waits on the model; another writer changes a member meanwhile
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(llm_engine.consolidate("s")))
    worker.start()
    ready = threading.Event()
    for _ in range(1000):
        if llm.requests or ready.wait(0.01):
            break
    llm_engine.update(colour[0], value="User's favourite colour is dark blue.")
    llm.release.set()
    worker.join(timeout=30)
    (result,) = outcome
    assert len(llm.requests) == 2 and [sorted(m.members) for m in result.merges] == [sorted(toronto)]
    assert llm_engine.get(colour[0]).value == "User's favourite colour is dark blue."
    assert {m.value for m in llm_engine.iter_all(scope="s")} == {*COLOUR[1:], "User's favourite colour is dark blue.",
                                                                 "A summary of the cluster."}  # fmt: skip


def test_consolidations_racing_on_one_scope_compose_and_merge_once(engine: Engine) -> None:
    parts = _store(engine, WORK)
    twins = _store(engine, TORONTO)
    for _ in range(3):
        engine.recall("s", WORK_QUESTION)
    start = threading.Barrier(4, timeout=30)
    results: list[Any] = []

    def run(mode: str) -> None:
        start.wait()
        results.append(engine.consolidate("s", mode=mode))

    threads = [threading.Thread(target=run, args=(mode,)) for mode in ("compose", "compose", "merge", "merge")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(len(r.composites) for r in results) == 1 and sum(r.merged for r in results) == 1
    assert set(_live(engine)) - set(parts) - {twins[1]} == {c.id for r in results for c in r.composites}
