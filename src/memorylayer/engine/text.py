"""Lexical analysis for the BM25 index: the same steps prepare stored text and queries.

Steps, each measured on LoCoMo (bench/locomo.py, docs/retrieval.md): lower-case and fold accents,
split on anything that is not a letter or digit (apostrophes inside a word are dropped, a trailing
possessive ``'s`` too), drop English stopwords (which include the question words), Snowball-stem.
A memory's creation date is indexed as three more terms (day, month name, year), so "in May 2023"
finds what was said then. Scripts written without spaces (Chinese, Japanese, Korean) are indexed as
overlapping character pairs.

Every term is a run of lower-case letters and digits, so it survives any FTS tokenizer unchanged and
can be quoted into a MATCH expression without escaping.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_stemmer = snowballstemmer.stemmer("english")

MONTHS = "january february march april may june july august september october november december".split()

#: NLTK's English list, written without apostrophes. "may" is absent on purpose: it is also a month.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves""".split()
)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def _fold(text: str) -> str:
    """Lower-case, compatibility-normalise and strip accents ("Café" -> "cafe")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _terms(word: str) -> list[str]:
    if _CJK.search(word):
        terms: list[str] = []
        for piece in re.split(f"({_CJK.pattern})", word):
            if not piece:
                continue
            terms.extend(_bigrams(piece) if _CJK.fullmatch(piece) else _terms(piece))
        return terms
    word = re.sub(r"['’]s$", "", word)
    word = re.sub(r"['’]", "", word)
    if not word or word in STOPWORDS:
        return []
    return [_stem(word)]


def date_terms(ms: int) -> list[str]:
    """Day, month name and year of a UTC millisecond timestamp, as index terms: ["8", "may", "2023"]."""
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return [str(when.day), _stem(MONTHS[when.month - 1]), str(when.year)]


def analyze(text: str, created_at: int | None = None) -> list[str]:
    """Index terms of ``text`` in order (repeats kept: BM25 counts them), plus its date's terms."""
    terms = [term for word in _WORD.findall(_fold(text)) for term in _terms(word)]
    if created_at is not None:
        terms.extend(date_terms(created_at))
    return terms


def analyze_query(text: str) -> list[str]:
    """Query terms, de-duplicated in order; empty when the query has only stopwords."""
    return list(dict.fromkeys(analyze(text)))


#: Words that ask for nothing in particular: greetings and "what do you know about me" questions.
#: A query made only of these (and stopwords) is generic; it gets the scope's profile, not a search.
GENERIC_WORDS = frozenset(
    _stem(word)
    for word in """hi hello hey hiya howdy yo greetings morning afternoon evening good day thanks thank
    know tell remember recall anything everything something stuff things info information summary
    summarize summarise profile details detail introduce yourself myself please""".split()
)


def is_generic(query: str) -> bool:
    """Whether ``query`` names no topic ("hi", "tell me about myself", "what do you know about me?")."""
    return all(term in GENERIC_WORDS for term in analyze_query(query))


_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)\W*([^\W\d_][\w'’-]*)")
_CAPITALISED = re.compile(r"\b([^\W\d_][\w'’-]*)")
_NOT_NAMES = frozenset([*MONTHS, "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "i"])


def query_names(text: str) -> list[str]:
    """Index terms of the names a query mentions: capitalised words that do not start a sentence.

    "What did Caroline research?" -> ["carolin"]. Months and weekdays are left out (a memory's date
    is indexed as terms, so they are not names of anything).
    """
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    names = []
    for found in _CAPITALISED.finditer(text):
        word = found.group(1)
        if found.start(1) in starts or not word[0].isupper() or word.isupper() or word.lower() in _NOT_NAMES:
            continue
        names.extend(analyze(word))
    return list(dict.fromkeys(names))


def capitalised_terms(text: str) -> set[str]:
    """Index terms of every capitalised word of ``text``, sentence starts included (weave keeps those
    that :func:`query_names` finds as a name somewhere in the scope)."""
    terms: set[str] = set()
    for found in _CAPITALISED.finditer(text):
        word = found.group(1)
        if word[0].isupper() and not word.isupper() and word.lower() not in _NOT_NAMES:
            terms.update(analyze(word))
    return terms
