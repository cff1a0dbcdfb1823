"""Request bodies of the memory operations' REST extensions (docs/operations.md), in validation's terms."""

from __future__ import annotations

from .. import limits as L
from .validation import SCOPE, Bool, Enum, Num, Schema, Str, _integer, _length

DOCUMENT = Schema(
    {
        "scope": SCOPE,
        "document": _length(L.DOCUMENT_NAME, kind="name"),
        "text": Str(description="The document (Markdown or plain text); within the request body limit."),
        "importance": Num(L.IMPORTANCE_MIN, L.IMPORTANCE_MAX, optional=True),
    },
    name="RememberDocument",
)
NEIGHBOURS = Schema(
    {
        "memoryId": Str(description="A chunk's memory id (a UUID; anything else is not found)."),
        "radius": _integer(L.NEIGHBOUR_RADIUS, optional=True),
    },
    name="ChunkNeighbours",
)
ANSWER = Schema(
    {
        "scope": SCOPE,
        "question": _length(L.QUERY, kind="text"),
        "maxItems": _integer(L.MAX_ITEMS, optional=True),
        "threshold": Enum(L.THRESHOLDS, optional=True),
    },
    name="RecallAnswer",
)
CONSOLIDATE = Schema(
    {
        "scope": SCOPE,
        "mode": Enum(("merge", "compose"), optional=True),
        "dryRun": Bool(optional=True, description="Return the plan and write nothing (default false)."),
        "offline": Bool(optional=True, description="Keep each cluster's most informative member, no model."),
    },
    name="Consolidate",
)
VERIFY = Schema(
    {
        "scope": SCOPE,
        "statement": _length(L.STATEMENT, kind="text"),
        "maxItems": _integer(L.MAX_ITEMS, optional=True),
    },
    name="Verify",
)
WEAVE = Schema({"scope": SCOPE}, name="Weave")
EXPLORE = Schema(
    {
        "scope": SCOPE,
        "query": _length(L.QUERY, kind="text"),
        "maxItems": _integer(L.MAX_ITEMS, optional=True),
        "seeds": _integer(L.MAX_ITEMS, optional=True),
        "maxHops": _integer(L.EXPLORE_HOPS, optional=True),
        "maxNodes": _integer(L.EXPLORE_NODES, optional=True),
        "decay": Num(0.0, 1.0, optional=True),
    },
    name="RecallExplore",
)
RIPPLE = Schema(
    {
        "memoryId": Str(description="The memory whose dependants to list (a UUID; anything else is not found)."),
        "apply": Bool(optional=True, description="Flag each dependant with metadata needs_review (default false)."),
    },
    name="Ripple",
)
