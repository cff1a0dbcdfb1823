"""One-step inference on fact scopes: what a question is *for*, and the facts that bear on it.

"What should I cook for dinner?" shares no word with "User is allergic to peanuts", and MiniLM
scores the pair 0.15–0.25, the band of unrelated questions, so no floor admits the one without the
other (docs/benchmarks.md). A small, documented map closes the gap: an *intent* read from the
question's words (cooking, a trip, a gift, …) names the *topics* of user facts that bear on it
(diet, allergies, health; residence and travel plans; family). A candidate holding such a fact is
recalled at relevance at least ``RankingConfig.affinity_relevance``.

Only distilled facts about the user ("User …", the extractor's form and the WithMemory style) are
matched: chat turns ("Caroline: …") never are, so conversation logs rank as before. The map only
raises memories that are already candidates; it never brings a memory in.
"""

from __future__ import annotations

import re

_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|weekday"

#: Topics of user facts: the shapes of a fact about each (the slot shapes of engine/slots.py where
#: a slot exists: residence, diet, role, employer, partner).
TOPICS: dict[str, re.Pattern[str]] = {
    "diet": re.compile(
        r"\b(?:vegan|vegetarian|pescatarian|flexitarian|diet|(?:does not|doesn't|never|won't) eat|avoids|"
        r"eats no|halal|kosher|keto|low-carb)\b",
        re.IGNORECASE,
    ),
    "allergy": re.compile(r"\b(?:allerg\w*|intoleran\w*|coeliac|celiac)\b", re.IGNORECASE),
    "health": re.compile(
        r"\b(?:diabet\w*|blood pressure|cholesterol|salt|sugar|lactose|heart condition|asthma|pregnan\w*)\b",
        re.IGNORECASE,
    ),
    "residence": re.compile(
        r"^User (?:lives|is living|is based|resides|has moved|moved|relocated|is moving) (?:in|to|near)\b",
        re.IGNORECASE,
    ),
    "travel": re.compile(
        r"\b(?:trip|travel\w*|holiday|vacation|flying|hiking in|visit\w*|going to \w+ (?:in|next)|abroad)\b",
        re.IGNORECASE,
    ),
    "pets": re.compile(
        r"\b(?:cats?|dogs?|kittens?|puppy|puppies|retriever|terrier|spaniel|labrador|parrots?|rabbits?|hamsters?|"
        r"budgie|tortoise|fish tank|horse)\b",
        re.IGNORECASE,
    ),
    "family": re.compile(
        r"\b(?:daughters?|sons?|kids|children|child|twins?|married to|wife|husband|partner|baby|"
        r"mother|father|mum|mom|dad|parents)\b",
        re.IGNORECASE,
    ),
    "schedule": re.compile(
        rf"\b(?:every (?:day|week|morning|evening|night)|shifts?|on (?:{_DAYS})s?|(?:{_DAYS})s|"
        r"at \d{1,2}(?::\d\d)?\s?(?:am|pm)|busy|available)\b",
        re.IGNORECASE,
    ),
    "code": re.compile(
        r"\b(?:code|coding|programming|python|rust|typescript|javascript|go|java|type hints|tabs|spaces|"
        r"indent\w*|functional|naming|snake_case|camelcase|tests?)\b",
        re.IGNORECASE,
    ),
    "editor": re.compile(
        r"\b(?:editor|ide|neovim|vim|emacs|vs code|vscode|pycharm|jetbrains|sublime|intellij)\b", re.IGNORECASE
    ),
    "music": re.compile(
        r"\b(?:music|band|jazz|classical|rock|piano|guitar|songs?|singer|playlist|listens? to|podcasts?)\b",
        re.IGNORECASE,
    ),
    "language": re.compile(r"\b(?:learning|studying|speaks|fluent\w*) (?:\w+ )?(?:[A-Z]\w+)\b|\blanguage\b"),
}

#: Intents: words of a question, and the fact topics that bear on answering it.
INTENTS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(
            r"\b(?:cook\w*|recipes?|dinner|lunch|breakfast|brunch|meals?|snacks?|dessert|bake|baking|restaurants?|"
            r"food|eat|eating|menu|grocer\w*|takeaway|dish)\b",
            re.IGNORECASE,
        ),
        ("diet", "allergy", "health"),
    ),
    (
        re.compile(r"\b(?:trip|travel\w*|pack|packing|flights?|holiday|vacation|visa|luggage)\b", re.IGNORECASE),
        ("travel", "residence"),
    ),
    (re.compile(r"\b(?:weather|forecast|local|nearby|near me|at home)\b", re.IGNORECASE), ("residence",)),
    (
        re.compile(r"\b(?:go(?:ing)? away|looking after|look after|sitter|babysit\w*|away for)\b", re.IGNORECASE),
        ("pets", "family"),
    ),
    (re.compile(r"\b(?:present|gift|birthday|anniversary)\b", re.IGNORECASE), ("family",)),
    (
        re.compile(
            rf"\b(?:meeting|book|schedule|calendar|appointment|call|free|evening|morning|{_DAYS})\b", re.IGNORECASE
        ),
        ("schedule",),
    ),
    (
        re.compile(
            r"\b(?:code|function|format\w*|indent\w*|refactor\w*|snippet|script|debug\w*|lint\w*)\b", re.IGNORECASE
        ),
        ("code", "editor"),
    ),
    (
        re.compile(r"\b(?:podcasts?|commute|playlist|listen\w*|audiobooks?|songs?)\b", re.IGNORECASE),
        ("music", "language"),
    ),
]

USER_FACT = re.compile(r"^User\b")


def topics_for(query: str) -> set[str]:
    """The fact topics that bear on a question ("what should I cook?" -> diet, allergy, health)."""
    return {topic for words, topics in INTENTS if words.search(query) for topic in topics}


def bears_on(fact: str, topics: set[str]) -> bool:
    """Whether a memory is a user fact ("User …") of one of ``topics``."""
    text = fact.strip()
    return bool(USER_FACT.match(text)) and any(TOPICS[t].search(text) for t in topics)
