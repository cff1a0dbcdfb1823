"""Write-time dedup: the explicit rules that decide what happens to an unkeyed fact before it is stored.

Rules, in order (``similarity`` is the cosine to the closest live memory of the same scope):

1. Same normalised text as a live memory → ``skip`` (an exact duplicate is never stored twice).
2. Nothing at least ``RELATED`` similar, or too few shared words (``overlap``, the Jaccard index of
   the two texts' index terms, below ``SAME_SUBJECT``; any differing number makes it 0) → ``insert``.
   The word check matters because MiniLM scores "server A is 10.0.0.1" and "server B is 10.0.0.2"
   as near-identical although they are different facts.
3. The closest memory is keyed → ``skip``: a keyed fact is authoritative and an extracted or free-text
   near-copy never supersedes it.
4. ``DUPLICATE`` or more similar with ``SAME_WORDS`` overlap → ``supersede``: the newer wording replaces
   the old one, which stays readable in history.
5. Between ``RELATED`` and ``DUPLICATE`` with ``SAME_SUBJECT`` overlap: an extracted fact supersedes an
   older extracted fact (the same fact, reworded or extended);
   anything else is ``insert`` (a deliberate store of a related but different memory).

Before rules 2-5, two turns of different speakers (``"Joanna: Bye Nate!"`` and ``"Nate: Bye Joanna!"``,
whose words are the same) are different memories: ``insert``. A speaker is a short name before a
colon at the start of the text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ..types import MemoryRecord

#: Cosine at or above which two MiniLM vectors say the same thing (paraphrase, typo, punctuation).
DUPLICATE = 0.95
#: Cosine at or above which two facts are about the same subject (e.g. an updated preference).
RELATED = 0.85
#: Share of index terms two texts must have in common to count as the same wording.
SAME_WORDS = 0.6
#: Share of index terms an updated fact must keep from the fact it replaces.
SAME_SUBJECT = 0.5

Action = Literal["insert", "skip", "supersede"]


@dataclass(frozen=True)
class Decision:
    action: Action
    target: MemoryRecord | None = None
    similarity: float = 0.0


def content_hash(value: str) -> str:
    """Hash of the text with case and whitespace normalised: what counts as an exact duplicate."""
    normal = re.sub(r"\s+", " ", value.strip().lower())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


_SPEAKER = re.compile(r"^\s*([^\W\d_][\w .'’-]{0,39}?):\s")


def speaker(value: str) -> str | None:
    """The speaker prefix of a chat turn ("Joanna: …" → "joanna"), or None."""
    found = _SPEAKER.match(value)
    return found.group(1).strip().lower() if found else None


def overlap(a: set[str], b: set[str]) -> float:
    """Jaccard index of two term sets (1.0 when both are empty), or 0.0 when their numbers differ.

    Numbers, versions, ids and addresses carry the fact: "fact 1" and "fact 11" are never the same.
    """
    if {t for t in a if any(c.isdigit() for c in t)} != {t for t in b if any(c.isdigit() for c in t)}:
        return 0.0
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def decide(
    source: str,
    exact: MemoryRecord | None,
    closest: MemoryRecord | None,
    similarity: float,
    shared: float,
    value: str | None = None,
) -> Decision:
    """Apply the module's rules; ``shared`` is the term overlap with ``closest``; ``value`` the new text."""
    if exact is not None:
        return Decision("skip", exact, 1.0)
    if closest is None or similarity < RELATED or shared < SAME_SUBJECT:
        return Decision("insert")
    if value is not None and speaker(value) != speaker(closest.value):
        return Decision("insert")
    if closest.key is not None:
        return Decision("skip", closest, similarity)
    if similarity >= DUPLICATE and shared >= SAME_WORDS:
        return Decision("supersede", closest, similarity)
    if source == "extracted" and closest.source == "extracted":
        return Decision("supersede", closest, similarity)
    return Decision("insert", closest, similarity)
