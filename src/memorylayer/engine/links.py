"""weave, recall(explore) and ripple (docs/operations.md): links between memories, and what follows them.

weave derives links from what a scope already holds: shared names (capitalised words that do not start
a sentence, as :func:`~memorylayer.engine.text.query_names` finds them), the same conversation
(metadata ``conversation`` or ``session``: each memory to the next ones of it), the same document
(neighbouring chunks), supersession and co-recall (the recall log). Each weave rebuilds
those kinds for the scope in one transaction; ``derived`` and ``part_of`` links (consolidation's) are
never touched by it.

explore spreads activation from recall's hits over the links; ripple lists what depends on a memory.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Protocol

from .. import limits
from ..types import Link, MemoryRecord, SearchHit, now_ms
from . import validation as v
from .dedup import speaker
from .text import analyze, capitalised_terms, query_names

if TYPE_CHECKING:
    from ..store.base import Store

#: The kinds weave derives (and so rebuilds); consolidation writes ``derived`` and ``part_of``.
WOVEN = ("entity", "conversation", "document", "supersedes", "co_recall")
#: What a memory made from others records (consolidate, compose), followed by ripple.
DERIVED = ("derived", "part_of")
#: A name in more than this share of a scope's memories (a speaker, the user) links nothing.
ENTITY_MAX_SHARE = 0.05
#: ...and never more memories than this (bounds the pairs a name makes).
ENTITY_MAX_MEMORIES = 40
#: Each memory of a conversation links to this many of the next ones.
CONVERSATION_WINDOW = 2
#: Memories recalled together at least this often are co-recalled.
CO_RECALL_MIN = 2
#: Search hits explore picks its seeds among: the people a query names can lift one into them.
EXPLORE_POOL = 30
#: Activation a chat turn gets from the query naming its speaker (times the share of the query's names
#: it speaks for): "What activities does Melanie do?" is answered by Melanie's own turns. Chosen
#: leave-one-conversation-out on LoCoMo's multi-hop questions (every fold chose it; larger weights
#: change nothing more: the named speaker's turns in the pool already lead; docs/benchmarks.md).
SPEAKER_ACTIVATION = 0.3


Render = Callable[[MemoryRecord], dict[str, Any]]


@dataclass(frozen=True)
class WeaveResult:
    """How many links of each kind the scope holds after the weave."""

    scope: str
    links: dict[str, int]
    memories: int

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "links": self.links, "memories": self.memories}


@dataclass(frozen=True)
class Step:
    """One link followed: from ``source`` (a memory already reached) along ``kind``."""

    source: str
    kind: str
    weight: float
    label: str = ""


@dataclass(frozen=True)
class ExploreHit:
    """A memory explore returns: ``hop`` 0 is a recall hit (``path`` empty), else the steps from one."""

    memory: MemoryRecord
    score: float
    hop: int
    path: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Exploration:
    hits: list[ExploreHit]
    #: How many memories activation reached (within ``max_nodes``).
    reached: int

    def to_dict(self, render: Render) -> dict[str, Any]:
        """The wire's shape (REST, MCP), each memory as ``render`` shapes it for that edge."""
        hits = [
            {
                "memory": render(h.memory),
                "score": round(h.score, 4),
                "hop": h.hop,
                "path": [{"from": s.source, "kind": s.kind, "weight": s.weight, "label": s.label} for s in h.path],
            }
            for h in self.hits
        ]
        return {"hits": hits, "reached": self.reached}


@dataclass(frozen=True)
class Dependant:
    """A memory that rests on the rippled one: ``kind`` the link (``derived``, ``part_of``, or a woven
    kind for a memory only related), ``via`` the memory it rests on directly."""

    memory: MemoryRecord
    kind: str
    via: str
    flagged: bool = False


@dataclass(frozen=True)
class Ripple:
    memory_id: str
    dependants: list[Dependant]
    related: list[Dependant]
    applied: bool

    def to_dict(self, render: Render) -> dict[str, Any]:
        """The wire's shape (REST, MCP), each memory as ``render`` shapes it for that edge."""

        def one(d: Dependant) -> dict[str, Any]:
            return {"memory": render(d.memory), "kind": d.kind, "via": d.via, "flagged": d.flagged}

        return {
            "memory_id": self.memory_id,
            "applied": self.applied,
            "dependants": [one(d) for d in self.dependants],
            "related": [one(d) for d in self.related],
        }


class _Engine(Protocol):
    account: str

    @property
    def store(self) -> Store: ...
    def get(self, memory_id: str) -> MemoryRecord: ...
    def search(
        self, query: str, *, scope: str | None = ..., top_k: int = ..., min_score: float = ...
    ) -> list[SearchHit]: ...
    def update(self, memory_id: str, *, metadata: dict[str, Any] | None = ...) -> MemoryRecord: ...


class Linking:
    """Mixed into Engine; every method runs on the engine's account."""

    def weave(self: _Engine, scope: str) -> WeaveResult:
        """Rebuild the woven links of ``scope`` (:data:`WOVEN`) from its memories, history and recall log.

        One transaction: a reader sees the old links or the new ones. A full rebuild of the scope,
        not incremental (cost grows with the scope's size; measured in docs/benchmarks.md).

        Raises:
            InvalidRequest: a bad scope.
        """
        scope = v.scope(scope)
        store, account = self.store, self.account
        with store.transaction():
            memories = list(store.iter_records(account, scope))
            links = [
                *entity_links(memories),
                *conversation_links(memories),
                *document_links(memories),
                *(Link(new, old, "supersedes") for new, old in store.supersessions(account, scope)),
                *co_recall_links(store.recalls(account, scope, 0)),
            ]
            store.drop_links(account, scope, WOVEN)
            store.put_links(account, scope, links, now_ms())
            counts = store.count_links(account, scope)
        return WeaveResult(scope, counts, len(memories))

    def explore(
        self: _Engine,
        scope: str,
        query: str,
        *,
        max_items: int = limits.DEFAULT_MAX_ITEMS,
        max_hops: int = limits.DEFAULT_EXPLORE_HOPS,
        max_nodes: int = limits.DEFAULT_EXPLORE_NODES,
        decay: float = limits.DEFAULT_EXPLORE_DECAY,
        seeds: int | None = None,
        speaker_weight: float = SPEAKER_ACTIVATION,
    ) -> Exploration:
        """recall(explore): recall's hits for ``query``, then spreading activation over the links.

        Activation starts at the search hits and at the people the query names: a hit's activation is
        its score, plus ``speaker_weight`` times the share of the query's names that are its speaker
        (a chat turn "Melanie: …"); the ``seeds`` most activated of the best ``EXPLORE_POOL`` hits
        seed the spreading. A link passes on ``activation × decay × weight`` (a memory
        keeps the best it is offered, with that path). At most ``max_hops`` links from a hit and
        ``max_nodes`` memories reached; superseded or expired memories pass activation on but are not
        returned. The best ``max_items`` of hits and reached memories come back, best first.
        ``seeds`` (default ``max_items``) is how many recall hits activation starts from.

        Raises:
            InvalidRequest: a bad scope, query, max_items, max_hops, max_nodes, decay or seeds.
        """
        scope = v.scope(scope)
        max_items = v.integer(max_items, "max_items", limits.MAX_ITEMS)
        max_hops = v.integer(max_hops, "max_hops", limits.EXPLORE_HOPS)
        max_nodes = v.integer(max_nodes, "max_nodes", limits.EXPLORE_NODES)
        decay = v.unit_interval(decay, "decay")
        seeds = max_items if seeds is None else v.integer(seeds, "seeds", limits.MAX_ITEMS)
        speaker_weight = v.unit_interval(speaker_weight, "speaker_weight")
        pool = self.search(query, scope=scope, top_k=max(seeds, EXPLORE_POOL))
        hits, activations = _seeds(pool, query, seeds, speaker_weight)
        best: dict[str, tuple[float, list[Step]]] = {
            h.memory.id: (a, []) for h, a in zip(hits, activations, strict=True)
        }
        _spread(self.store, self.account, best, max_hops, max_nodes, decay)
        by_id = {h.memory.id: h.memory for h in hits}
        reached = [i for i in best if i not in by_id]
        by_id.update(_live(self, reached))
        found = [
            ExploreHit(by_id[i], round(score, 6), len(path), path) for i, (score, path) in best.items() if i in by_id
        ]
        found.sort(key=lambda h: (-h.score, h.hop, h.memory.id))
        return Exploration(found[:max_items], len(best))

    def ripple(self: _Engine, memory_id: str, *, apply: bool = False) -> Ripple:
        """What depends on ``memory_id``: memories derived from it (consolidation's ``derived`` and
        ``part_of`` links, or its ``derived_from`` / ``parts`` metadata), and theirs in turn; and the
        memories only linked to it (``related``, never changed).

        ``apply`` flags each live dependant with metadata ``needs_review`` (the rippled id), all in
        one transaction.

        Raises:
            NotFound: no memory has that id in this account. InvalidRequest: a bad id.
        """
        root = self.get(memory_id)
        store, account = self.store, self.account
        # Only an apply writes; a preview reads without holding the write lock.
        with store.transaction() if apply else nullcontext():
            made_from = _made_from_metadata(store.iter_records(account, root.scope))
            dependants: dict[str, tuple[str, str]] = {}
            frontier = [root.id]
            while frontier:
                step: list[str] = []
                for link in store.links_of(account, frontier, DERIVED):
                    if link.target in frontier and link.source not in dependants and link.source != root.id:
                        dependants[link.source] = (link.kind, link.target)
                        step.append(link.source)
                for here in frontier:
                    for kind, source in made_from.get(here, ()):
                        if source not in dependants and source != root.id:
                            dependants[source] = (kind, here)
                            step.append(source)
                frontier = step
            live = _live(self, list(dependants))
            if apply:
                for dependant in live.values():
                    self.update(dependant.id, metadata={"needs_review": root.id})
                live = _live(self, list(live))
            related_links = [x for x in store.links_of(account, [root.id], WOVEN)]
            others = {(x.target if x.source == root.id else x.source): x.kind for x in related_links}
            related_live = _live(self, [i for i in others if i not in dependants])
        return Ripple(
            root.id,
            [Dependant(live[i], *dependants[i], flagged=apply) for i in dependants if i in live],
            [Dependant(m, others[i], root.id) for i, m in sorted(related_live.items())],
            apply,
        )


def _spread(
    store: Store, account: str, best: dict[str, tuple[float, list[Step]]], hops: int, nodes: int, decay: float
) -> None:
    """Spreading activation from the memories of ``best`` over their links, ``hops`` links deep, until
    ``nodes`` memories are reached; ``best`` gains each reached memory's best (activation, path)."""
    frontier = list(best)
    for _ in range(hops):
        if not frontier or len(best) >= nodes:
            break
        offered: dict[str, tuple[float, list[Step]]] = {}
        here_now = set(frontier)
        for link in store.links_of(account, frontier):
            for here, there in ((link.source, link.target), (link.target, link.source)):
                if here not in here_now or there in best:
                    continue
                activation, path = best[here]
                passed = activation * decay * link.weight
                if passed > offered.get(there, (0.0, []))[0]:
                    offered[there] = (passed, [*path, Step(here, link.kind, link.weight, link.label)])
        chosen = sorted(offered.items(), key=lambda item: (-item[1][0], item[0]))[: nodes - len(best)]
        best.update(chosen)
        frontier = [memory_id for memory_id, _ in chosen]


def _seeds(pool: list[SearchHit], query: str, count: int, weight: float) -> tuple[list[SearchHit], list[float]]:
    """The ``count`` hits of ``pool`` with the most activation (score, plus ``weight`` × the share of
    the query's names that are the hit's speaker), most first; and their activations."""
    names = set(query_names(query))

    def activation(hit: SearchHit) -> float:
        said = set(analyze(speaker(hit.memory.value) or "")) if names and weight else set()
        return hit.score + weight * len(names & said) / max(1, len(names))

    ranked = sorted(((activation(h), h) for h in pool), key=lambda item: -item[0])[:count]
    return [h for _, h in ranked], [a for a, _ in ranked]


def _live(engine: _Engine, ids: Sequence[str]) -> dict[str, MemoryRecord]:
    """The live, unexpired memories among ``ids``."""
    now = now_ms()
    found = {}
    for memory_id in ids:
        memory = engine.store.get(engine.account, memory_id)
        if (
            memory is not None
            and memory.superseded_by is None
            and (memory.expires_at is None or memory.expires_at > now)
        ):
            found[memory_id] = memory
    return found


def _made_from_metadata(memories: Iterable[MemoryRecord]) -> dict[str, list[tuple[str, str]]]:
    """{member id: [(kind, id of the memory made from it)]} from ``derived_from`` / ``parts`` metadata."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for memory in memories:
        for name, kind in (("derived_from", "derived"), ("parts", "part_of")):
            ids = memory.metadata.get(name)
            if isinstance(ids, list):
                for member in ids:
                    if isinstance(member, str):
                        found[member].append((kind, memory.id))
    return found


def entity_links(memories: Sequence[MemoryRecord]) -> list[Link]:
    """Memories naming the same rare names; the weight sums each shared name's rarity (at most 1)."""
    # A name is a word some memory capitalises mid-sentence; then it counts at a sentence start too.
    known = {name for m in memories for name in query_names(m.value)}
    names = {m.id: capitalised_terms(m.value) & known for m in memories}
    holders: dict[str, list[str]] = defaultdict(list)
    for memory_id, found in names.items():
        for name in found:
            holders[name].append(memory_id)
    cap = min(ENTITY_MAX_MEMORIES, max(2, int(ENTITY_MAX_SHARE * len(memories))))
    weights: dict[tuple[str, str], float] = defaultdict(float)
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, ids in holders.items():
        if not 2 <= len(ids) <= cap:
            continue
        rarity = math.log(len(memories) / len(ids)) / math.log(max(len(memories), 2))
        for pair in combinations(sorted(ids), 2):
            weights[pair] += rarity
            labels[pair].append(name)
    return [
        Link(a, b, "entity", round(min(1.0, w), 4), " ".join(sorted(labels[(a, b)]))) for (a, b), w in weights.items()
    ]


def conversation_links(memories: Sequence[MemoryRecord]) -> list[Link]:
    """Each memory to the next :data:`CONVERSATION_WINDOW` of its conversation (in the order written)."""
    by_conversation: dict[str, list[MemoryRecord]] = defaultdict(list)
    for memory in memories:
        name = memory.metadata.get("conversation", memory.metadata.get("session"))
        if isinstance(name, (str, int)) and not isinstance(name, bool):
            by_conversation[str(name)].append(memory)
    links = []
    for name, turns in by_conversation.items():
        for i, memory in enumerate(turns):
            for distance, later in enumerate(turns[i + 1 : i + 1 + CONVERSATION_WINDOW], start=1):
                links.append(Link(memory.id, later.id, "conversation", round(1 / distance, 4), name))
    return links


def document_links(memories: Sequence[MemoryRecord]) -> list[Link]:
    """Each chunk of a document (remember(chunk)) to the next one."""
    chunks = {
        (m.metadata["document"], m.metadata["chunk"]): m.id
        for m in memories
        if isinstance(m.metadata.get("document"), str) and isinstance(m.metadata.get("chunk"), int)
    }
    return [Link(i, chunks[(d, c + 1)], "document", 1.0, d) for (d, c), i in chunks.items() if (d, c + 1) in chunks]


def co_recall_links(recalls: Iterable[tuple[str, str, int]]) -> list[Link]:
    """Pairs recalled together at least :data:`CO_RECALL_MIN` times; weight grows with the count (to 1 at 5)."""
    by_recall: dict[str, set[str]] = defaultdict(set)
    for recall_id, memory_id, _ in recalls:
        by_recall[recall_id].add(memory_id)
    together: Counter[tuple[str, str]] = Counter()
    for ids in by_recall.values():
        together.update(combinations(sorted(ids), 2))
    return [
        Link(a, b, "co_recall", round(min(1.0, n / 5), 4), f"{n} recalls")
        for (a, b), n in together.items()
        if n >= CO_RECALL_MIN
    ]
