"""Facts that change: the *slot* an extracted fact fills, so a new value supersedes the old one.

"User lives in Paris." and later "User moved to Berlin." fill the same slot, ``residence``: the
second supersedes the first, which stays readable in history (MiniLM alone cannot tell an update
from a second fact: the two score 0.66). Every extracted fact is about the user (the extractor
writes "User …"), so the subject is the scope's user; verbatim memories, chat turns among them,
never get a slot, so one speaker's turn never replaces another's. A fact matching no shape has no
slot and goes through dedup alone. An LLM extractor may name the slot itself (docs/engine.md).

The slot is kept in the memory's metadata under ``slot`` (``Store.find_by_slot`` reads it back).
"""

from __future__ import annotations

import re

#: (slot, shapes of an extracted fact that fill it). First match wins.
SLOTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "residence",
        re.compile(
            r"^User (?:lives|is living|is based|resides|has moved|moved|relocated|is moving) (?:in|to|near) \S",
            re.IGNORECASE,
        ),
    ),
    ("employer", re.compile(r"^User (?:works|is working) (?:at|for) \S|^User is employed (?:at|by) \S", re.IGNORECASE)),
    ("role", re.compile(r"^User (?:works|is working) as an? \S|^User's (?:job|role|occupation) is \S", re.IGNORECASE)),
    (
        "diet",
        re.compile(
            r"^User is (?:strictly |now |fully )?(?:vegan|vegetarian|pescatarian|flexitarian|carnivore|omnivore)\b"
            r"|^User (?:follows|is on) an? [\w -]+ diet\b|^User eats (?:meat|everything|fish) again\b",
            re.IGNORECASE,
        ),
    ),
    ("name", re.compile(r"^User's name is \S", re.IGNORECASE)),
    ("partner", re.compile(r"^User is (?:married to|engaged to|dating|in a relationship with) \S", re.IGNORECASE)),
]
#: What a slot name given by an LLM may look like.
SLOT_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")


def slot_of(fact: str) -> str | None:
    """The slot an extracted fact fills ("User lives in Berlin." -> "residence"), or None."""
    for name, shape in SLOTS:
        if shape.search(fact.strip()):
            return name
    return None
