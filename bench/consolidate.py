"""consolidate and consolidate(compose) on a generated 10,000-memory scope, with the real model.

The corpus (written here, seeded; not LoCoMo) is distinct facts about generated people, with:

- known near-duplicate groups: a fact and one to three rewordings of it (the relation phrased
  another way, punctuation, an opening clause), stored without write-time dedup as an import or an
  append-only log would;
- stale low-importance memories (importance 0.1-0.3, written 60-400 days ago, never recalled), which
  must decay; as many again that are just as old but recalled during the run, and recent ones, which
  must stay;
- projects with three facts each, asked about with one three-fact question three times (repeated
  multi-fact questions); compose must cut the items recall needs to cover all three.

Reported: the time of the dry run and of the apply, what merged and decayed against the known
groups, that nothing was lost (every memory still readable: live, superseded or in history), and the
items needed to cover each multi-fact question (asked as before, and reworded) before and after compose.

    .venv/bin/python bench/consolidate.py [--memories 10000] [--out PATH]
    .venv/bin/python bench/consolidate.py --measure   # the merge threshold on bench/data/duplicates.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DEFAULT_OUT = HERE / "results" / "consolidate.json"
DAY = 86_400_000

FIRST = ("Ada Ben Chloe Dmitri Elena Farid Greta Hugo Ines Jonas Keiko Liam Maya Nico Olga Pavel Quinn Rosa Sami "
         "Tariq Uma Viktor Wen Ximena Yusuf Zara Amir Bea Carlos Dalia Emil Fatima Goran Hana Ivan Jade Kofi Lena "
         "Marek Nadia Oskar Priya Rafael Sofia Tomas Ugo Vera Wanda Yara Zeno Anya Boris Celia Diego Esme Felix Gaia "
         "Henrik Isla Joel").split()  # fmt: skip
LAST = ("Abe Brandt Costa Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kowalski Larsen Moreau Novak Okafor Petrov "
        "Quist Rossi Silva Tanaka Urban Varga Weber Xu Yilmaz Zhou Alves Bauer Conti Dahl").split()  # fmt: skip
CITIES = "Lyon Oslo Porto Kyoto Quito Lagos Perth Malmo Gdansk Bergen Tartu Cork Leeds Graz Split Ghent".split()
COMPANIES = "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Tyrell Cyberdyne Soylent".split()
PETS = [("dog", "Rex"), ("cat", "Miso"), ("parrot", "Kiwi"), ("rabbit", "Bun"), ("dog", "Bo"), ("cat", "Tofu")]
FOODS = "sushi lasagne ramen tacos paella pho curry falafel risotto dumplings".split()
HOBBIES = "climbing chess pottery sailing birdwatching fencing archery knitting rowing juggling".split()
INSTRUMENTS = "piano cello violin drums flute trumpet harp banjo".split()
LANGUAGES = "Japanese Portuguese Finnish Swahili Korean Greek Turkish Polish".split()

# relation -> (value list, phrasings); every phrasing of a relation states the same fact.
RELATIONS: dict[str, tuple[list[str], list[str]]] = {
    "city": (CITIES, ["{p} lives in {v}.", "{p} is living in {v}.", "{p} lives in the city of {v}."]),
    "work": (COMPANIES, ["{p} works at {v}.", "{p} is employed at {v}.", "{p} works for {v}."]),
    "pet": ([f"{k} named {n}" for k, n in PETS], ["{p} has a {v}.", "{p} owns a {v}.", "{p} has got a {v}."]),
    "food": (
        FOODS,
        ["{p}'s favourite food is {v}.", "{p} loves eating {v} most.", "The favourite food of {p} is {v}."],
    ),
    "hobby": (HOBBIES, ["{p} does {v} at weekends.", "At weekends {p} does {v}.", "{p} spends weekends doing {v}."]),
    "music": (INSTRUMENTS, ["{p} plays the {v}.", "{p} can play the {v}.", "{p} plays {v}."]),
    "language": (LANGUAGES, ["{p} is learning {v}.", "{p} studies {v}.", "{p} is studying {v}."]),
}
OPENINGS = ["For the record, ", "Note: ", "As mentioned, "]
ROLES = "owner deadline platform".split()
PLATFORMS = "Kubernetes Lambda Heroku Fly Nomad Cloud Run".split()
MONTHS = "January February March April May June July August September October November December".split()


def people() -> list[str]:
    return [f"{f} {last}" for f in FIRST for last in LAST]


def reword(rng: random.Random, relation: str, person: str, value: str, used: int) -> str:
    """A near duplicate of fact ``used`` (its phrasing index): another phrasing, punctuation or an opening."""
    phrasings = RELATIONS[relation][1]
    choice = rng.randrange(3)
    if choice == 0:
        return phrasings[(used + rng.randrange(1, len(phrasings))) % len(phrasings)].format(p=person, v=value)
    base = phrasings[used].format(p=person, v=value)
    if choice == 1:
        return base.rstrip(".") + "!"
    return rng.choice(OPENINGS) + base[0].lower() + base[1:] if base.startswith("The ") else rng.choice(OPENINGS) + base


def corpus(total: int, seed: int = 17) -> dict:
    """The memories (value, importance, age in days, role) and the ground truth."""
    rng = random.Random(seed)
    facts = [(p, r) for p in people() for r in RELATIONS]
    rng.shuffle(facts)
    memories: list[dict] = []
    groups: list[list[int]] = []
    stale, recalled_stale, recent_low = [], [], []
    projects = []
    for i in range(30):
        name = f"Project {FIRST[i]}{LAST[i]}"
        owner, month, platform = rng.choice(people()), rng.choice(MONTHS), rng.choice(PLATFORMS)
        values = [f"{name} is owned by {owner}.", f"{name} is due in {month}.", f"{name} runs on {platform}."]
        start = len(memories)
        memories += [{"value": v, "importance": 0.5, "age": rng.uniform(1, 30)} for v in values]
        projects.append({
            "parts": [start, start + 1, start + 2],
            "question": f"Who owns {name}, when is it due and what does it run on?",
            "reworded": f"For {name}: which platform, which month is the deadline, and who is the owner?",
        })  # fmt: skip
    n_groups = total * 6 // 100
    sizes = [rng.randint(1, 3) for _ in range(n_groups)]
    n_stale, n_recalled, n_recent = total * 8 // 100, total * 2 // 100, total * 3 // 100
    n_plain = total - len(memories) - n_groups - sum(sizes) - n_stale - n_recalled - n_recent
    cursor = 0

    def fact() -> tuple[str, str, str, int]:
        nonlocal cursor
        person, relation = facts[cursor]
        cursor += 1
        values, phrasings = RELATIONS[relation]
        value, used = rng.choice(values), rng.randrange(len(phrasings))
        return person, relation, value, used

    for size in sizes:
        person, relation, value, used = fact()
        group = [len(memories)]
        memories.append({"value": RELATIONS[relation][1][used].format(p=person, v=value), "importance": 0.5,
                         "age": rng.uniform(0, 400)})  # fmt: skip
        for _ in range(size):
            group.append(len(memories))
            memories.append({"value": reword(rng, relation, person, value, used), "importance": 0.5,
                             "age": rng.uniform(0, 400)})  # fmt: skip
        groups.append(group)
    for bucket, count, ages, importance in (
        (stale, n_stale, (60, 400), (0.1, 0.3)),
        (recalled_stale, n_recalled, (60, 400), (0.1, 0.3)),
        (recent_low, n_recent, (0, 20), (0.1, 0.3)),
        ([], n_plain, (0, 400), (0.5, 0.5)),
    ):
        for _ in range(count):
            person, relation, value, used = fact()
            bucket.append(len(memories))
            memories.append({"value": RELATIONS[relation][1][used].format(p=person, v=value),
                             "importance": round(rng.uniform(*importance), 2), "age": rng.uniform(*ages)})  # fmt: skip
    return {"memories": memories, "groups": groups, "stale": stale, "recalled_stale": recalled_stale,
            "recent_low": recent_low, "projects": projects}  # fmt: skip


def items_needed(engine, scope: str, question: str, parts: set[str]) -> int | None:
    """How many recalled items cover every part (a composite covers its own parts); None if 20 do not."""
    result = engine.recall(scope, question, max_items=20, max_tokens=2000, threshold="permissive",
                           record_access=False)  # fmt: skip
    covered: set[str] = set()
    for n, memory in enumerate(result.memories, 1):
        covered |= {memory.id, *map(str, memory.metadata.get("parts", []))}
        if parts <= covered:
            return n
    return None


def summary(values: list[int | None]) -> dict:
    found = [v for v in values if v is not None]
    return {
        "median": statistics.median(found) if found else None,
        "mean": round(statistics.mean(found), 2) if found else None,
        "covered_within_8": sum(1 for v in found if v <= 8),
        "not_covered_in_20": len(values) - len(found),
        "questions": len(values),
    }


def readable(engine, memory_id: str, value: str) -> bool:
    """The memory is live, superseded (its row stays) or decayed (its last state is in history)."""
    from memorylayer.errors import NotFound

    try:
        return engine.get(memory_id).value == value
    except NotFound:
        return any(h.event == "decayed" and h.value == value for h in engine.history(memory_id))


def run(total: int) -> dict:
    from memorylayer.engine import Engine
    from memorylayer.types import NewMemory, now_ms

    data = corpus(total)
    scope = "bench"
    with tempfile.TemporaryDirectory() as home, Engine.open(home) as engine:
        now = now_ms()
        items = [NewMemory(m["value"], importance=m["importance"], created_at=int(now - m["age"] * DAY))
                 for m in data["memories"]]  # fmt: skip
        started = time.perf_counter()
        ids = []
        for start in range(0, len(items), 1000):
            ids += [m.id for m in engine.add_batch(scope, items[start : start + 1000], dedup=False).memories]
        load_s = time.perf_counter() - started
        values = {ids[i]: m["value"] for i, m in enumerate(data["memories"])}
        recalled: set[str] = set()  # whatever any recall returns is used, so it must not decay
        for i in data["recalled_stale"]:
            recalled |= {m.id for m in engine.recall(scope, data["memories"][i]["value"]).memories}
        parts = [{ids[i] for i in p["parts"]} for p in data["projects"]]
        before = {
            kind: [items_needed(engine, scope, p[kind], s) for p, s in zip(data["projects"], parts, strict=True)]
            for kind in ("question", "reworded")
        }
        for _ in range(3):
            for project in data["projects"]:
                recalled |= {m.id for m in engine.recall(scope, project["question"]).memories}
        live_before = engine.count(scope)
        started = time.perf_counter()
        plan = engine.consolidate(scope, dry_run=True)
        plan_s = time.perf_counter() - started
        started = time.perf_counter()
        done = engine.consolidate(scope)
        apply_s = time.perf_counter() - started
        started = time.perf_counter()
        composed = engine.consolidate(scope, mode="compose")
        compose_s = time.perf_counter() - started
        after = {
            kind: [items_needed(engine, scope, p[kind], s) for p, s in zip(data["projects"], parts, strict=True)]
            for kind in ("question", "reworded")
        }
        planned = [(m.kept, m.members) for m in plan.merges]
        applied = [(m.kept, m.members) for m in done.merges]
        same_plan = planned == applied and [d.memory_id for d in plan.decays] == [d.memory_id for d in done.decays]
        differences = [
            {"planned": [values[i] for i in [a[0] or "", *a[1]] if i in values],
             "applied": [values[i] for i in [b[0] or "", *b[1]] if i in values]}
            for a, b in zip(planned, applied, strict=False)
            if a != b
        ][:3]  # fmt: skip
        uncovered = [
            {"question": p["question"], "parts": [values[i] for i in sorted(s)],
             "recalled": [m.value for m in engine.recall(scope, p["question"], max_items=20, max_tokens=2000,
                                                          threshold="permissive", record_access=False).memories]}
            for p, s, n in zip(data["projects"], parts, after["question"], strict=True)
            if n is None
        ]  # fmt: skip
        group_of = {ids[i]: g for g, group in enumerate(data["groups"]) for i in group}
        expected_merges = sum(len(g) - 1 for g in data["groups"])
        right = sum(1 for m in done.merges for x in m.members if group_of.get(x) == group_of.get(m.kept or "", -1))
        stale = {ids[i] for i in [*data["stale"], *data["recalled_stale"]]} - recalled
        decayed = {d.memory_id for d in done.decays}
        lost = [i for i, v in values.items() if not readable(engine, i, v)]
        composite_parts = [set(c.parts) for c in composed.composites]
        exact = sum(1 for s in parts if s in composite_parts)
        return {
            "memories": len(ids),
            "load_seconds": round(load_s, 1),
            "plan_seconds": round(plan_s, 2),
            "apply_seconds": round(apply_s, 2),
            "compose_seconds": round(compose_s, 2),
            "live_before": live_before,
            "live_after_merge_and_decay": done.live_after,
            "live_after_compose": engine.count(scope),
            "plan_matches_apply": same_plan,
            "plan_differences": differences,
            "merged": done.merged,
            "known_near_duplicates": expected_merges,
            "merge_precision": round(right / done.merged, 4) if done.merged else None,
            "merge_recall": round(right / expected_merges, 4),
            "decayed": len(decayed),
            "stale_never_recalled": len(stale),
            "stale_decayed": len(decayed & stale),
            "wrongly_decayed": len(decayed - stale),
            "old_low_importance_recalled": len({ids[i] for i in data["recalled_stale"]} & recalled),
            "old_low_importance_recalled_kept": len({ids[i] for i in data["recalled_stale"]} & recalled - decayed),
            "lost": len(lost),
            "composites": len(composed.composites),
            "composites_exactly_a_project": exact,
            "items_needed_before": {k: summary(v) for k, v in before.items()},
            "items_needed_after": {k: summary(v) for k, v in after.items()},
            "not_covered_after": uncovered,
            "cores": os.cpu_count(),
            "load_average": os.getloadavg(),
        }


def measure() -> dict:
    """Precision, recall and F1 of the merge rule (cosine >= T and the dedup word rules) per threshold T."""
    import numpy as np

    from memorylayer.embedding.embedder import DefaultEmbedder
    from memorylayer.engine.consolidation import same_fact
    from memorylayer.engine.text import analyze
    from memorylayer.types import MemoryRecord

    pairs = json.loads((HERE / "data" / "duplicates.json").read_text(encoding="utf-8"))["pairs"]
    embedder = DefaultEmbedder(2)
    a = embedder.embed([p["a"] for p in pairs])
    b = embedder.embed([p["b"] for p in pairs])
    cosines = np.sum(a * b, axis=1)

    def record(value: str) -> MemoryRecord:
        return MemoryRecord("x", "s", None, value, {}, 0.5, "explicit", "ready", 0, 0)

    words = [same_fact(record(p["a"]), record(p["b"]), set(analyze(p["a"])), set(analyze(p["b"]))) for p in pairs]
    table = []
    for step in range(80, 99):
        threshold = step / 100
        said = [bool(c >= threshold and w) for c, w in zip(cosines, words, strict=True)]
        tp = sum(1 for s, p in zip(said, pairs, strict=True) if s and p["same"])
        fp = sum(1 for s, p in zip(said, pairs, strict=True) if s and not p["same"])
        fn = sum(1 for s, p in zip(said, pairs, strict=True) if not s and p["same"])
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table.append({"threshold": threshold, "precision": round(precision, 3), "recall": round(recall, 3),
                      "f1": round(f1, 3), "false_merges": fp})  # fmt: skip
    best = max(table, key=lambda row: (row["f1"], row["threshold"]))
    return {"pairs": len(pairs), "same": sum(p["same"] for p in pairs), "table": table, "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--measure", action="store_true", help="the merge threshold table only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    result = measure() if args.measure else run(args.memories)
    text = json.dumps(result, indent=1)
    print(text)
    out = args.out if not args.measure else args.out.with_name("consolidate_threshold.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
