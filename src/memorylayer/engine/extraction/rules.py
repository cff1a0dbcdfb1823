"""The offline extractor: a few recognised sentence shapes in, "User …" sentences out.

It recognises a narrow set of self-stated facts ("I'm allergic to peanuts", "we deploy on merge to
main", "my favourite editor is vim", "The user is vegetarian") and rewrites them as declarative
sentences that start with "User". Everything else — questions, greetings, one-off tasks, moods,
plans, hypotheticals, what the assistant said, "remember this" commands, prompt injection, secrets
and contact numbers — yields nothing. When a sentence is not clearly one of the recognised shapes it
is dropped: missing a fact is cheaper than storing a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .vocabulary import (
    ABBREVIATIONS,
    ADDRESSED,
    ADVERBS,
    ANSWER_STYLE,
    BAD_FOLLOW,
    CAN_VERBS,
    CLAUSE_SPLIT,
    DEICTIC,
    DURABLE_NOW,
    FILLER,
    GERUND_VERBS,
    HAS_VERBS,
    HAVE_BAD,
    HAVE_PARTICIPLES,
    I_AM_CAPITAL_IS_ATTRIBUTE,
    I_AM_OK,
    ING_OK,
    INJECTION,
    INSTRUCTION_TAIL,
    INTRANSITIVE_VERBS,
    MOMENTARY,
    MOOD,
    MY_BAD_SUBJECT,
    MY_BAD_VALUE,
    NAME,
    NEEDS_CARE,
    PAST,
    PERSONAL_VERBS,
    PLAN,
    PRIVILEGE,
    PRONOUN_RE,
    PRONOUNS,
    QUESTION_START,
    ROLE_LINE,
    SECRET,
    TEAM_VERBS,
    TROUBLE,
    UNCERTAIN,
    USER_ROLES,
    VAGUE_OBJECT,
    words,
)


def _third_person(verb: str) -> str:
    lowered = verb.lower()
    irregular = {"have": "has", "do": "does", "go": "goes", "be": "is"}
    if lowered in irregular:
        return irregular[lowered]
    if re.search(r"(?:s|sh|ch|x|z|o)$", lowered):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lowered):
        return verb[:-1] + "ies"
    return verb + "s"


def _third_pronouns(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        return PRONOUNS[match.group(0).lower()]

    return PRONOUN_RE.sub(swap, text)


def _sentence(subject: str, rest: str) -> str:
    text = f"{subject} {_third_pronouns(rest)}" if rest else subject
    text = re.sub(r"\s+", " ", text).strip().rstrip(",;:-— ")
    return text + "."


class RulesExtractor:
    """The offline extractor: a few recognised sentence shapes in, "User …" sentences out.

    Conservative by construction: a sentence yields a fact only when it matches one of the shapes
    below *and* passes every filter; anything else yields nothing. ``prompt`` is accepted for
    interface compatibility and ignored. Transcripts (``User: …`` / ``Assistant: …`` lines) are
    read for their user lines only.
    """

    name = "rules"

    def extract(self, text: str, *, prompt: str | None = None) -> list[str]:
        """The durable self-stated facts in ``text``, as sentences starting with "User"."""
        text = _normalise(text)
        # A request after a fact ("…, so never suggest prawns", "…, remember that") is not the fact.
        sentences = [INSTRUCTION_TAIL.sub("", s).strip() for s in _sentences(_user_lines(text))]
        sentences = [s for s in sentences if s]
        if not sentences or INJECTION.search("\n".join(sentences)):
            return []
        facts: list[str] = []
        about_user = False
        for sentence in sentences:
            for clause in CLAUSE_SPLIT.split(sentence):
                fact, third_person = _fact(clause, about_user, sentence)
                if fact:
                    facts.append(fact)
                    about_user = about_user or third_person
        return list(dict.fromkeys(facts))


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _user_lines(text: str) -> str:
    """The text the user wrote: all of it, or only the user turns of a transcript."""
    lines = text.split("\n")
    roles = [ROLE_LINE.match(line) for line in lines]
    if not any(roles):
        return text
    kept: list[str] = []
    speaker = "user"
    for line, role in zip(lines, roles, strict=True):
        if role:
            speaker = "user" if role.group(1).lower() in USER_ROLES else "other"
            line = role.group(2)
        if speaker == "user":
            kept.append(line)
    return "\n".join(kept)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        start = 0
        for match in re.finditer(r"[.!?;]+(?=\s|$)|\s+[-—–]\s+", paragraph):
            before = paragraph[start : match.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if match.group(0) == "." and (last in ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", last)):
                continue
            out.append(paragraph[start : match.end()].strip())
            start = match.end()
        out.append(paragraph[start:].strip())
    return [s for s in out if s]


def _fact(clause: str, about_user: bool, sentence: str) -> tuple[str | None, bool]:
    """One clause's fact (or None) and whether it was a third-person statement about the user."""
    if sentence.rstrip().endswith("?"):
        return None, False
    clause = FILLER.sub("", clause.strip()).strip()
    clause = re.sub(r"[\s.!;:,]+$", "", clause)
    if len(clause) < 4 or len(clause) > 300 or QUESTION_START.match(clause):
        return None, False
    if "you can call me" in clause.lower() or "you may call me" in clause.lower():
        clause = re.sub(r"^you (?:can|may) ", "", clause, flags=re.IGNORECASE)
    if PRIVILEGE.search(clause) or SECRET.search(clause):
        return None, False
    style = _answer_style(clause)
    if style is not None:
        return style, False
    now = DURABLE_NOW.match(clause)
    if now:
        clause = clause[: now.start("now")]
    filters = (ADDRESSED, UNCERTAIN, SECRET, TROUBLE, DEICTIC) if PLAN.match(clause) else _FILTERS
    for filt in filters:
        if filt.search(clause):
            return None, False
    for rule, third_person in _RULES:
        if third_person and not about_user and rule is _pronoun_statement:
            continue
        fact = rule(clause)
        if fact is not None:
            return (fact or None), third_person
    return None, False


_FILTERS = (ADDRESSED, MOMENTARY, UNCERTAIN, SECRET, TROUBLE, DEICTIC)


def _answer_style(clause: str) -> str | None:
    """ "Please always answer in Spanish" -> "User wants answers in Spanish." (None: not such a request)."""
    for pattern in ANSWER_STYLE:
        match = pattern.match(clause)
        if match:
            how = re.sub(r"^(?:to\s+be\s+|be\s+)", "", match.group("how").strip())
            if how.lower() in {"short", "brief", "concise", "simple"}:
                return f"User wants {how.lower()} answers."
            return _sentence("User wants answers", how)
    return None


def _plan(clause: str) -> str | None:
    """ "I'm planning to move to Lisbon next year", "I'm working on a compiler for my thesis"."""
    if not PLAN.match(clause):
        return None
    match = re.match(r"^(?:i'm|i\s+am|im)\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if match:
        return _sentence("User is", match.group("rest"))
    match = re.match(r"^i\s+(?P<verb>plan|intend|am\s+going)\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if match is None:
        return None
    verb = {"plan": "plans", "intend": "intends"}.get(match.group("verb").lower(), "is going")
    return _sentence(f"User {verb}", match.group("rest"))


def _vague(rest: str) -> bool:
    rest = rest.strip()
    return rest.lower() in VAGUE_OBJECT or (len(rest) < 2 and not rest.isdigit())


_LOWER_ATTRIBUTES = words(
    "vegan vegetarian pescatarian diabetic celiac coeliac married single retired left-handed "
    "right-handed deaf blind autistic dyslexic"
)


def _names(clause: str) -> str | None:
    # The name itself is matched case-sensitively: "I'm Alice" names the user, "I'm allergic" does not.
    patterns = [
        (rf"^(?i:my\s+name\s+is|my\s+name's|the\s+name's|name's)\s+(?P<n>{NAME})$", "User's name is {}."),
        (
            (
                rf"^(?i:call\s+me|i\s+go\s+by|i'm\s+called|i\s+am\s+called|everyone\s+calls\s+me"
                rf"|people\s+call\s+me|friends\s+call\s+me)\s+(?P<n>{NAME})$"
            ),
            "User prefers to be called {}.",
        ),
    ]
    for pattern, template in patterns:
        match = re.match(pattern, clause)
        if match:
            return template.format(match.group("n"))
    match = re.match(rf"^(?i:i'm|i\s+am|im)\s+(?P<n>{NAME})$", clause)
    if not match:
        return None
    name = match.group("n")
    if " " not in name and I_AM_CAPITAL_IS_ATTRIBUTE.search(name):
        lowered = name.lower()
        return f"User is {lowered if lowered in _LOWER_ATTRIBUTES else name}."
    return f"User's name is {name}."


def _i_am(clause: str) -> str | None:
    match = re.match(r"^(?:i'm|i\s+am|im)\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if not match:
        return None
    rest = match.group("rest")
    words = rest.split()
    first = words[0].lower()
    if words[0][0].isupper() and not I_AM_CAPITAL_IS_ATTRIBUTE.search(words[0]):
        return ""
    if first in MOOD and not I_AM_OK.match(rest):
        return ""
    if first.endswith("ing") and first not in ING_OK:
        return ""
    if (
        first == "working"
        and len(words) > 1
        and words[1].lower() in {"on", "through", "late", "hard", "from", "remotely", "overtime"}
    ):
        return ""
    if _vague(rest):
        return ""
    return _sentence("User is", rest)


def _i_have(clause: str) -> str | None:
    match = re.match(r"^(?:i\s+have|i've|ive|i\s+have\s+got|i've\s+got)\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if not match:
        return None
    rest = re.sub(r"^got\s+", "", match.group("rest"), flags=re.IGNORECASE)
    if HAVE_BAD.match(rest) or _vague(rest):
        return ""
    first = rest.split()[0].lower()
    if clause.lower().startswith(("i've", "ive")) and not match.group(0).lower().startswith("i've got"):
        if first not in HAVE_PARTICIPLES:
            return ""
    elif re.fullmatch(r"\w+ed", first) and first not in HAVE_PARTICIPLES:
        return ""
    if first == "been" and len(rest.split()) > 1 and rest.split()[1].lower().endswith("ing"):
        return ""
    return _sentence("User has", rest)


def _i_past(clause: str) -> str | None:
    match = re.match(r"^i\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if not match or not PAST.match(match.group("rest")):
        return None
    return _sentence("User", match.group("rest"))


def _i_verb(clause: str) -> str | None:
    match = re.match(
        rf"^i\s+(?P<adv>(?:{ADVERBS}\s+)*)(?P<neg>don't\s+|dont\s+|do\s+not\s+|can't\s+|cant\s+|cannot\s+"
        rf"|can\s+not\s+|can\s+)?(?P<verb>[a-z]+)(?:\s+(?P<rest>.*))?$",
        clause,
        flags=re.IGNORECASE,
    )
    if not match:
        return None
    verb, rest = match.group("verb"), match.group("rest") or ""
    neg = re.sub(r"\s+", " ", (match.group("neg") or "").lower().strip())
    adv = " ".join(match.group("adv").split()).lower()
    lowered = verb.lower()
    if lowered not in PERSONAL_VERBS:
        return None
    if neg.startswith("can") and lowered not in CAN_VERBS:
        return ""
    if lowered in {"need", "want"} and not neg:
        return ""
    if lowered in NEEDS_CARE and BAD_FOLLOW.match(rest):
        return ""
    if lowered == "tend" and not rest.lower().startswith("to "):
        return ""
    if lowered not in GERUND_VERBS and BAD_FOLLOW.match(rest) and not rest.lower().startswith("to "):
        return ""
    if _vague(rest) and lowered not in INTRANSITIVE_VERBS:
        return ""
    adv_part = f"{adv} " if adv else ""
    if neg in {"don't", "dont", "do not"}:
        head = f"User {adv_part}does not {lowered}"
    elif neg in {"can't", "cant", "cannot", "can not"}:
        head = f"User {adv_part}cannot {lowered}"
    elif neg == "can":
        head = f"User {adv_part}can {lowered}"
    else:
        head = f"User {adv_part}{_third_person(lowered)}"
    return _sentence(head, rest)


def _possessive(clause: str) -> str | None:
    match = re.match(r"^(?P<who>my|our)\s+(?P<tail>.+)$", clause, flags=re.IGNORECASE)
    if not match:
        return None
    words = re.sub(r"'(s|re)\b(?=\s)", r" '\1", match.group("tail")).split()
    at = next((i for i, w in enumerate(words[:5]) if i and w.lower() in HAS_VERBS | {"'s", "'re"}), None)
    if at is None:
        return ""
    subj, verb, rest = " ".join(words[:at]), words[at].lower(), " ".join(words[at + 1 :])
    verb = {"'s": "is", "'re": "are"}.get(verb, verb)
    if verb in {"was", "were"} or not rest:
        return ""
    if MY_BAD_SUBJECT.search(subj) or _vague(rest) or verb in {"is", "are"} and MY_BAD_VALUE.match(rest):
        return ""
    first = rest.split()[0].lower()
    if (
        verb in {"is", "are"}
        and first.endswith("ing")
        and not re.search(
            r"\b(?:hobby|hobbies|favou?rite|passion|job|sport|work|profession|specialty|speciality)\b",
            subj,
            re.IGNORECASE,
        )
    ):
        return ""
    return _sentence(f"User's {subj} {verb}", rest)


def _we(clause: str) -> str | None:
    match = re.match(
        rf"^we\s+(?P<adv>(?:{ADVERBS}\s+)*)(?P<neg>don't\s+|dont\s+|do\s+not\s+)?(?P<verb>[a-z]+)"
        rf"(?:\s+(?P<rest>.*))?$",
        clause,
        flags=re.IGNORECASE,
    )
    are = re.match(
        r"^(?:we're|we\s+are)\s+(?P<rest>(?:an?|based|fully|mostly|remote|distributed)\b.*)$",
        clause,
        flags=re.IGNORECASE,
    )
    if are:
        rest = are.group("rest")
        if re.match(r"^an?\s+(?:bit|little|lot)\b", rest, re.IGNORECASE):
            return ""
        return _sentence("User's team is", rest)
    if not match:
        return None
    verb, rest = match.group("verb").lower(), match.group("rest") or ""
    if verb not in TEAM_VERBS:
        return None
    if verb in {"have", "do"} and not re.match(
        r"^(?:an?\s+)?(?:code\s+reviews?|standups?|stand-ups?|retros?|sprints?|on-?call|releases?|deploys?"
        r"|weekly|daily|monthly|biweekly|two-week|trunk-based|pair|ci|cd|continuous)\b",
        rest,
        re.IGNORECASE,
    ):
        return ""
    if BAD_FOLLOW.match(rest) and not rest.lower().startswith("to "):
        return ""
    if _vague(rest) and verb not in {"deploy", "release", "pair"}:
        return ""
    neg = match.group("neg")
    adv = " ".join(match.group("adv").split()).lower()
    adv_part = f"{adv} " if adv else ""
    head = f"User's team {adv_part}does not {verb}" if neg else f"User's team {adv_part}{_third_person(verb)}"
    return _sentence(head, rest)


def _user_statement(clause: str) -> str | None:
    match = re.match(r"^(?:the\s+)?user(?P<poss>'s)?\s+(?P<rest>.+)$", clause, flags=re.IGNORECASE)
    if not match:
        return None
    rest = match.group("rest")
    if match.group("poss"):
        inner = re.match(
            r"^(?P<subj>[\w'\-]+(?:\s+[\w'\-]+){0,3}?)\s+(?P<verb>is|are|has|have)\s+(?P<v>.+)$",
            rest,
            re.IGNORECASE,
        )
        if not inner or MY_BAD_VALUE.match(inner.group("v")) or _vague(inner.group("v")):
            return ""
        if inner.group("subj").lower() == "name" and not re.fullmatch(NAME, inner.group("v")):
            return ""
        return _sentence("User's", rest)
    return _third_person_rest(rest)


def _pronoun_statement(clause: str) -> str | None:
    match = re.match(
        r"^(?P<p>they're|they\s+are|they've|they\s+have|they|he's|she's|he|she)\s+(?P<rest>.+)$",
        clause,
        flags=re.IGNORECASE,
    )
    if not match:
        return None
    pronoun, rest = match.group("p").lower(), match.group("rest")
    if pronoun in {"they're", "they are", "he's", "she's"}:
        rest = "is " + rest
    elif pronoun in {"they've", "they have"}:
        rest = "has " + rest
    elif pronoun == "they":
        first, _, tail = rest.partition(" ")
        if first.lower() in PERSONAL_VERBS:
            rest = f"{_third_person(first.lower())} {tail}".strip()
        elif first.lower() in {"don't", "dont"}:
            rest = f"does not {tail}"
        elif first.lower() not in {"also", "never", "usually", "always", "often", "can", "cannot"}:
            return ""
    return _third_person_rest(rest)


def _third_person_rest(rest: str) -> str | None:
    """``rest`` after the subject "User": a present-tense verb phrase about the user."""
    verb, _, obj = rest.partition(" ")
    lowered = verb.lower()
    if lowered in {"is", "'s"}:
        words = obj.split()
        if not words:
            return ""
        first = words[0].lower()
        if first in MOOD and not I_AM_OK.match(obj) and first not in {"strictly", "very", "really"}:
            return ""
        if first.endswith("ing") and first not in ING_OK:
            return ""
        return _sentence("User is", obj)
    if (
        lowered in HAS_VERBS - {"is", "are", "was", "were", "don't"}
        or (lowered.endswith("s") and lowered[:-1] in PERSONAL_VERBS)
        or (lowered.endswith("es") and lowered[:-2] in PERSONAL_VERBS)
        or (lowered.endswith("ies") and lowered[:-3] + "y" in PERSONAL_VERBS)
    ):
        if lowered in {"has", "have"} and HAVE_BAD.match(obj):
            return ""
        if lowered in {"needs", "wants"} or _vague(obj) or BAD_FOLLOW.match(obj) and not obj.startswith("to "):
            return ""
        if lowered == "have":
            verb = "has"
        return _sentence(f"User {verb}", obj)
    return ""


_Rule = Callable[[str], "str | None"]
# (rule, is a third-person statement about the user). A rule returns None when the clause is not
# its shape, "" when it is its shape but must be dropped, or the fact.
_RULES: list[tuple[_Rule, bool]] = [
    (_plan, False),
    (_names, False),
    (_i_past, False),
    (_i_am, False),
    (_i_have, False),
    (_i_verb, False),
    (_possessive, False),
    (_we, False),
    (_user_statement, True),
    (_pronoun_statement, True),
]
