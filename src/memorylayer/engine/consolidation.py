"""consolidate and consolidate(compose): memory that cleans itself up (docs/operations.md).

Planning is pure and reads the scope once; applying the plan is one transaction.

- **merge**: live unkeyed memories whose vectors are at least ``MERGE_COSINE`` similar *and* that pass
  the write-time dedup rules of :mod:`.dedup` (the same numbers, ``SAME_SUBJECT`` shared terms, the same
  speaker) and name the same people and places (:func:`same_fact`) form clusters around their most
  informative member (leader clustering: every member is a near duplicate of the leader, so clusters
  never chain). Offline the leader stays and the others are superseded by it; with a model, one
  summary stating every member's facts supersedes them all.
- **decay**: an unkeyed memory of importance at most ``DECAY_IMPORTANCE`` whose ACT-R base-level
  activation ``B = ln(sum_j t_j^-d)`` (``t_j`` days since each access: its write and every recall,
  ``d`` = 0.5) is under ``DECAY_BELOW`` leaves the live set; its last state stays in history
  (event ``decayed``). With ``DECAY_BELOW`` = -2, a memory never recalled decays after e^4 ≈ 55 days.
- **compose**: memories recalled together by at least ``MIN_CORECALLS`` recalls, pairwise, are
  compiled into one composite memory (ACT-R production compilation); the parts stay. Recall returns a
  composite in place of its parts (:func:`as_units`), so a repeated multi-fact question needs one item.

Nothing is lost: a merged member is a superseded row (readable by id, listed in its history), a
decayed memory is in history, and composites add without removing.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from .. import limits
from ..errors import InvalidRequest
from ..types import Link, MemoryRecord, NewMemory, SearchHit, now_ms
from . import validation as v
from .dedup import SAME_SUBJECT, content_hash, overlap, speaker
from .ranking import DAY_MS, render
from .text import analyze
from .writes import history_entry

if TYPE_CHECKING:
    from ..store.base import Backend, Store
    from ..types import AddResult
    from .shared import Shared
    from .writes import Admit, Dedup, Prepared, Writer

Mode = Literal["merge", "compose"]
MODES = ("merge", "compose")
#: Cosine at or above which two memories are merge candidates (with the dedup word rules on top).
#: Chosen on bench/data/duplicates.json (bench/consolidate.py --measure): docs/benchmarks.md.
MERGE_COSINE = 0.9
#: Memories of at most this importance may decay (the default importance, 0.5, never does).
DECAY_IMPORTANCE = 0.3
#: Base-level activation under which a low-importance memory decays.
DECAY_BELOW = -2.0
#: ACT-R's decay exponent d.
DECAY_EXPONENT = 0.5
#: Recalls a set of memories must share, pair by pair, to be composed.
MIN_CORECALLS = 3
#: Parts of one composite at most.
MAX_PARTS = 6
#: An access younger than this counts as this old (t^-d has no value at 0).
MIN_AGE_MS = 60_000
#: Memories scored against each other per matrix product (a block of the n x n cosine matrix).
BLOCK = 1024

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|[.!?:;,]")

SUMMARY_PROMPT = """You merge near-duplicate memories of one user into a single memory.
Reply with a JSON object {"summary": string}: one short memory stating every fact the given memories
state, using their words where possible. Never add anything they do not say."""


@dataclass(frozen=True)
class Merge:
    """Near duplicates folded into one memory: ``kept`` (a member, or the summary written for them)."""

    kept: str | None
    members: list[str]
    similarity: float
    summary: str | None = None


@dataclass(frozen=True)
class Decay:
    memory_id: str
    activation: float
    importance: float


@dataclass(frozen=True)
class Composite:
    """Memories recalled together ``corecalls`` times, compiled into one (``id`` once written)."""

    id: str | None
    parts: list[str]
    corecalls: int
    value: str


@dataclass(frozen=True)
class Consolidation:
    """What consolidate did (or, ``dry_run``, would do) to a scope; ``live_after`` is projected in a dry run."""

    scope: str
    mode: Mode
    dry_run: bool
    method: Literal["llm", "offline"]
    merges: list[Merge] = field(default_factory=list)
    decays: list[Decay] = field(default_factory=list)
    composites: list[Composite] = field(default_factory=list)
    live_before: int = 0
    live_after: int = 0
    seconds: float = 0.0

    @property
    def merged(self) -> int:
        """Memories that left the live set by merging (members superseded)."""
        return sum(len(m.members) for m in self.merges)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's ``--json`` and the MCP tool; REST camel-cases the names)."""
        data = asdict(self)
        del data["seconds"]
        counts = {"merged": self.merged, "decayed": len(self.decays), "composed": len(self.composites)}
        return {**data, **counts}


def is_composite(memory: MemoryRecord) -> bool:
    return memory.metadata.get("composite") is True and isinstance(memory.metadata.get("parts"), list)


def activation(memory: MemoryRecord, accesses: Sequence[int], now: int, d: float = DECAY_EXPONENT) -> float:
    """ACT-R base-level activation ``ln(sum_j t_j^-d)``, ``t_j`` in days since each access.

    The accesses are the write and each logged recall; recalls older than the log (``recall_count``
    counts more than it holds) are spread evenly between the write and the oldest one it holds.
    """
    times = [memory.created_at, *accesses]
    unlogged = max(0, memory.recall_count - len(accesses))
    if unlogged:
        until = min(accesses) if accesses else (memory.last_recalled_at or now)
        step = (until - memory.created_at) / unlogged
        times += [int(until - i * step) for i in range(unlogged)]
    total = sum((max(now - t, MIN_AGE_MS) / DAY_MS) ** -d for t in times)
    return math.log(total)


def plan_decay(
    memories: Iterable[MemoryRecord], recalls: dict[str, list[int]], now: int, spared: set[str]
) -> list[Decay]:
    """Unkeyed low-importance memories whose activation fell under ``DECAY_BELOW`` (not in ``spared``)."""
    found = []
    for memory in memories:
        if memory.key is not None or memory.importance > DECAY_IMPORTANCE or memory.id in spared:
            continue
        level = activation(memory, recalls.get(memory.id, []), now)
        if level < DECAY_BELOW:
            found.append(Decay(memory.id, round(level, 4), memory.importance))
    return found


def _informative(memory: MemoryRecord, terms: set[str]) -> tuple[int, float, int, int, int, str]:
    """Most distinct terms first, then importance, use, length and recency (the id settles ties)."""
    return (len(terms), memory.importance, memory.recall_count, len(memory.value), memory.updated_at, memory.id)


def near_duplicate_pairs(vectors: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine) with i < j of every pair of unit ``vectors`` at least ``threshold`` similar."""
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start : start + BLOCK] @ vectors.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if c > i:
                pairs.append((i, c, float(block[r, c])))
    return pairs


def names(text: str) -> set[str]:
    """Index terms of the names in ``text``: capitalised words, a sentence's first word only when the
    next one is capitalised too ("Carlos Eriksen has …" names Carlos, "Every morning …" names nothing)."""
    tokens = _TOKEN.findall(text)
    found: set[str] = set()
    start = True
    for i, token in enumerate(tokens):
        if token in ".!?:":
            start = True
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token[0].isupper() and (not start or following[:1].isupper()):
            found.update(analyze(token))
        start = start and token in ",;"
    return found


def same_fact(a: MemoryRecord, b: MemoryRecord, terms_a: set[str], terms_b: set[str]) -> bool:
    """The dedup module's word rules (the same numbers, enough shared terms, the same speaker), and
    the names of one within the other's: "Carlos Eriksen has a dog" is not "Tomas Eriksen has a dog",
    however close their vectors, while "… in Toronto, Canada" may merge with "… in Toronto"."""
    if speaker(a.value) != speaker(b.value) or overlap(terms_a, terms_b) < SAME_SUBJECT:
        return False
    names_a, names_b = names(a.value), names(b.value)
    return names_a <= names_b or names_b <= names_a


def plan_clusters(
    memories: Sequence[MemoryRecord], vectors: np.ndarray, threshold: float = MERGE_COSINE
) -> list[tuple[MemoryRecord, list[MemoryRecord], float]]:
    """(leader, members, lowest cosine) clusters of near duplicates among ``memories`` (rows of ``vectors``)."""
    terms: dict[int, set[str]] = {}

    def terms_of(i: int) -> set[str]:
        if i not in terms:
            terms[i] = set(analyze(memories[i].value))
        return terms[i]

    linked: dict[int, dict[int, float]] = {}
    for i, j, cosine in near_duplicate_pairs(vectors, threshold):
        if same_fact(memories[i], memories[j], terms_of(i), terms_of(j)):
            linked.setdefault(i, {})[j] = cosine
            linked.setdefault(j, {})[i] = cosine
    order = sorted(linked, key=lambda i: _informative(memories[i], terms_of(i)), reverse=True)
    taken: set[int] = set()
    clusters = []
    for leader in order:
        if leader in taken:
            continue
        members = [j for j in linked[leader] if j not in taken]
        if not members:
            continue
        taken.update([leader, *members])
        lowest = min(linked[leader][j] for j in members)
        clusters.append((memories[leader], [memories[j] for j in members], round(lowest, 4)))
    return clusters


def plan_composites(
    recalls: Sequence[tuple[str, str, int]], live: dict[str, MemoryRecord], existing: set[frozenset[str]]
) -> list[Composite]:
    """Groups of memories pairwise recalled together at least ``MIN_CORECALLS`` times, greedily grown
    from the most co-recalled pair (each memory in one new composite at most).

    A memory recalled with the group by the same repeated question joins it even when other questions
    recall it too: requiring pairs to share most of their recalls (Jaccard >= 0.6) split the groups of
    similar questions instead and doubled the items they needed (docs/benchmarks.md)."""
    events: dict[str, set[str]] = {}
    for recall_id, memory_id, _ in recalls:
        memory = live.get(memory_id)
        if memory is not None and not is_composite(memory):
            events.setdefault(recall_id, set()).add(memory_id)
    together: Counter[tuple[str, str]] = Counter()
    for ids in events.values():
        together.update(combinations(sorted(ids), 2))
    strong = {pair: n for pair, n in together.items() if n >= MIN_CORECALLS}

    def count(a: str, b: str) -> int:
        return strong.get((a, b) if a < b else (b, a), 0)

    taken: set[str] = set()
    found = []
    for a, b in sorted(strong, key=lambda pair: (-strong[pair], pair)):
        if a in taken or b in taken:
            continue
        group = [a, b]
        others = {x for pair in strong for x in pair if a in pair or b in pair} - {a, b} - taken
        for x in sorted(others, key=lambda x: (-sum(count(x, y) for y in group), x)):
            if len(group) < MAX_PARTS and all(count(x, y) for y in group):
                group.append(x)
        parts = sorted(group, key=lambda i: (live[i].created_at, i))
        value = "\n".join(render(live[i]) for i in parts)
        if frozenset(parts) in existing or len(value) > limits.VALUE.max:
            continue
        taken.update(parts)
        corecalls = min(count(x, y) for x, y in combinations(parts, 2))
        found.append(Composite(None, parts, corecalls, value))
    return found


def as_units(hits: list[SearchHit]) -> list[SearchHit]:
    """Recall's hits with each composite in place of its parts: at its best part's rank, with the
    better of the two scores; parts of a composite that is not among the hits stay as they are."""
    composites = {h.memory.id: h for h in hits if is_composite(h.memory)}
    if not composites:
        return hits
    unit_of: dict[str, str] = {}
    for composite_id, hit in composites.items():
        for part in hit.memory.metadata["parts"]:
            unit_of.setdefault(str(part), composite_id)
    out, placed = [], set()
    for hit in hits:
        cid = hit.memory.id if hit.memory.id in composites else unit_of.get(hit.memory.id)
        if cid is None:
            out.append(hit)
        elif cid not in placed:
            placed.add(cid)
            unit = composites[cid]
            out.append(unit if unit.score >= hit.score else replace(unit, score=hit.score))
    return out


def summarise(model: Any, members: Sequence[MemoryRecord]) -> str | None:
    """The model's one-memory summary of a cluster, or None when it gave no usable text.

    Raises:
        ExtractionFailed: the model could not be reached or answered something that is not JSON.
    """
    data = model.complete_json(SUMMARY_PROMPT, json.dumps({"memories": [m.value for m in members]}))
    text = data.get("summary")
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > limits.VALUE.max or "\x00" in text:
        return None
    return text.strip()


class _Engine(Protocol):
    """What consolidation uses of Engine (mypy checks Engine provides it)."""

    _shared: Shared
    account: str

    @property
    def backend(self) -> Backend: ...
    @property
    def store(self) -> Store: ...
    @property
    def _writer(self) -> Writer: ...
    def prepare(self, scope: str, items: list[NewMemory], *, dedup: Dedup = ...) -> Prepared: ...
    def commit(self, prepared: Prepared, admit: Admit | None = ...) -> AddResult: ...
    def count(self, scope: str | None = ...) -> int: ...


class Consolidating:
    """Mixed into Engine: consolidate and consolidate(compose)."""

    def consolidate(
        self: _Engine,
        scope: str,
        *,
        mode: str = "merge",
        dry_run: bool = False,
        offline: bool = False,
        admit: Admit | None = None,
    ) -> Consolidation:
        """Merge near duplicates and let stale low-importance memories decay (``mode="merge"``), or
        compile co-recalled memories into composites (``mode="compose"``); see :mod:`.consolidation`.

        ``dry_run`` returns the plan and writes nothing. Applying is one transaction: a memory changed
        by another writer since the plan was read is left out of it. ``offline`` (or no model
        configured) keeps each cluster's most informative member instead of asking for a summary.
        ``admit`` runs inside the transaction with the number of memories the write adds.

        Raises:
            InvalidRequest: a bad scope or mode; nothing is written.
            ExtractionFailed: the configured model failed while summarising; nothing is written.
        """
        started = time.perf_counter()
        scope = v.scope(scope)
        chosen: Mode = "compose" if v.choice(mode, "mode", MODES) == "compose" else "merge"
        if not isinstance(dry_run, bool) or not isinstance(offline, bool):
            raise InvalidRequest("dry_run and offline must be booleans")
        now = now_ms()
        live = {m.id: m for m in self.store.iter_records(self.account, scope)}
        since = now - limits.RECALL_LOG_DAYS * DAY_MS
        recalls = self.store.recalls(self.account, scope, since) if live else []
        model = None if offline else self._shared.extractor
        llm = model is not None and hasattr(model, "complete_json")
        result = Consolidation(scope, chosen, dry_run, "llm" if llm and chosen == "merge" else "offline")
        if chosen == "compose":
            existing = {frozenset(map(str, m.metadata["parts"])) for m in live.values() if is_composite(m)}
            result = replace(result, composites=plan_composites(recalls, live, existing))
        else:
            result = replace(result, merges=_plan_merges(self, live, model if llm else None))
            spared = {i for m in result.merges for i in [*m.members, m.kept or ""]}
            accesses: dict[str, list[int]] = {}
            for _, memory_id, at in recalls:
                accesses.setdefault(memory_id, []).append(at)
            result = replace(result, decays=plan_decay(live.values(), accesses, now, spared))
        if not dry_run:
            result = _apply(self, result, live, now, admit)
        added = len(result.composites) + sum(1 for m in result.merges if m.summary is not None)
        after = len(live) + added - result.merged - len(result.decays)
        return replace(result, live_before=len(live), live_after=after, seconds=time.perf_counter() - started)


def _plan_merges(engine: _Engine, live: dict[str, MemoryRecord], model: Any) -> list[Merge]:
    model_id = engine._shared.embedder.model_id
    candidates = [m for m in live.values() if m.key is None and not is_composite(m) and m.model == model_id]
    stored = engine.store.vectors_of(engine.account, [m.id for m in candidates])
    candidates = [m for m in candidates if m.id in stored and stored[m.id][0] == model_id]
    if len(candidates) < 2:
        return []
    vectors = np.stack([stored[m.id][1] for m in candidates]).astype(np.float32)
    merges = []
    for leader, members, lowest in plan_clusters(candidates, vectors):
        summary = summarise(model, [leader, *members]) if model is not None else None
        if summary is None:
            merges.append(Merge(leader.id, [m.id for m in members], lowest))
        else:
            merges.append(Merge(None, [leader.id, *(m.id for m in members)], lowest, summary))
    return merges


def _apply(
    engine: _Engine, plan: Consolidation, live: dict[str, MemoryRecord], now: int, admit: Admit | None
) -> Consolidation:
    """Write ``plan`` in one transaction; what another writer changed since the plan was read is skipped."""
    new_items = [
        NewMemory(m.summary, metadata={"derived_from": m.members}, importance=_importance(live, m.members))
        for m in plan.merges
        if m.summary is not None
    ]
    new_items += [
        NewMemory(
            c.value,
            metadata={"composite": True, "parts": c.parts, "corecalls": c.corecalls},
            importance=_importance(live, c.parts),
        )
        for c in plan.composites
    ]
    prepared = engine.prepare(plan.scope, new_items, dedup="none") if new_items else None
    with engine.backend.transaction():
        apply = _Apply(engine, live, prepared)
        merges = [m for m in (apply.merge(merge) for merge in plan.merges) if m is not None]
        composites = [c for c in (apply.compose(composite) for composite in plan.composites) if c is not None]
        decays = [d for d in plan.decays if apply.decay(d.memory_id, now)]
        if admit is not None and apply.added:
            admit(apply.added)
        engine.store.forget_recalls(engine.account, plan.scope, now - limits.RECALL_LOG_DAYS * DAY_MS)
    return replace(plan, merges=merges, composites=composites, decays=decays)


class _Apply:
    """One step of a plan at a time, inside the apply's transaction."""

    def __init__(self, engine: _Engine, live: dict[str, MemoryRecord], prepared: Prepared | None) -> None:
        self.engine, self.live, self.prepared = engine, live, prepared
        # One (item, vector) per summary, then per composite, taken in plan order even when skipped.
        self.pending = iter(zip(prepared.items, prepared.vectors, strict=True) if prepared is not None else [])
        self.added = 0

    def current(self, memory_id: str) -> MemoryRecord | None:
        """The memory as the plan read it, or None when it is gone or was changed since."""
        found = self.engine.store.get(self.engine.account, memory_id)
        before = self.live.get(memory_id)
        if found is None or before is None or found.updated_at != before.updated_at or found.superseded_by:
            return None
        return found

    def write(self, item: NewMemory, vector: np.ndarray | None) -> MemoryRecord:
        assert self.prepared is not None
        self.added += 1
        return self.engine.commit(replace(self.prepared, items=[item], vectors=[vector])).memories[0]

    def merge(self, merge: Merge) -> Merge | None:
        summary = next(self.pending) if merge.summary is not None else None
        members = [m for m in (self.current(i) for i in merge.members) if m is not None]
        kept = self.current(merge.kept or "") if summary is None else None
        if summary is None and (kept is None or not members) or summary is not None and len(members) < 2:
            return None
        kept = self.write(*summary) if summary is not None else kept
        assert kept is not None
        for member in members:
            self.engine._writer.supersede(member, kept)
        _link(self.engine, kept, members, "derived")
        return replace(merge, kept=kept.id, members=[m.id for m in members])

    def compose(self, composite: Composite) -> Composite | None:
        item, vector = next(self.pending)
        if any(self.current(i) is None for i in composite.parts):
            return None
        assert self.prepared is not None
        # A consolidation running beside this one may have composed the same parts since the plan.
        same = self.engine.store.find_by_hashes(self.engine.account, self.prepared.scope, [content_hash(item.value)])
        if any(is_composite(m) for m in same.values()):
            return None
        record = self.write(item, vector)
        _link(self.engine, record, [self.live[i] for i in composite.parts], "part_of")
        return replace(composite, id=record.id)

    def decay(self, memory_id: str, now: int) -> bool:
        memory = self.current(memory_id)
        if memory is None:
            return False
        store, account = self.engine.store, self.engine.account
        store.add_history(history_entry(memory, "decayed", None, valid_to=now), account)
        store.delete(account, [memory.id], keep_history=True)
        return True


def _importance(live: dict[str, MemoryRecord], ids: Sequence[str]) -> float:
    return max(live[i].importance for i in ids)


def _link(engine: _Engine, source: MemoryRecord, targets: Sequence[MemoryRecord], kind: str) -> None:
    """Record that ``source`` was made from ``targets`` (``derived``: a merge's kept memory or summary
    to each member; ``part_of``: a composite to each part), in the apply's transaction, so ripple can
    follow them. The metadata written with ``source`` (``derived_from``, ``parts``) says the same."""
    links = [Link(source.id, target.id, kind) for target in targets]
    engine.store.put_links(engine.account, source.scope, links, now_ms())
