"""Every length and range of MemoryLayer, in one place.

The engine validates against these, and every edge publishes them: the server's request schemas
(and so ``/openapi.json``), the MCP tools' input schemas and the SDK's request checks. A test
compares what each edge publishes with this module. Lengths are in UTF-16 code units, as the
WithMemory wire protocol (a JavaScript service) counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """An inclusive range: a length in UTF-16 code units, or an integer value."""

    min: int
    max: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.min <= value <= self.max


# -- memories ---------------------------------------------------------------------------------------
SCOPE = Bounds(1, 255)
KEY = Bounds(1, 128)
VALUE = Bounds(1, 16_384)
QUERY = Bounds(1, 8_192)
#: verify: the statement checked against memory.
STATEMENT = Bounds(1, 2_000)
#: Free text sent to extraction, in UTF-8 bytes (spec §5.1, EXTRACTION_MAX_INPUT_BYTES).
EXTRACTION_MAX_BYTES = 16_384
#: A memory's metadata, as compact JSON in UTF-8 bytes.
METADATA_MAX_BYTES = 16_384
#: The substring filter of ``list``.
LIST_SEARCH = Bounds(1, 500)
#: Importance is a number in [IMPORTANCE_MIN, IMPORTANCE_MAX] (integers, so messages read ">=0").
IMPORTANCE_MIN, IMPORTANCE_MAX = 0, 1
DEFAULT_IMPORTANCE = 0.5
#: Memories in one batch add (``POST /v1/memories/batch``, ``Engine.add_batch``): one transaction.
BATCH_ITEMS = Bounds(1, 1_000)
#: remember(chunk): a document's name (its chunks' keys are ``<name>#<position>``), its size in UTF-8
#: bytes (over REST also within REQUEST_BODY_MAX_BYTES), and the chunks one document may make.
DOCUMENT_NAME = Bounds(1, 100)
DOCUMENT_MAX_BYTES = 4_194_304
DOCUMENT_CHUNKS = Bounds(1, 10_000)
#: Chunks each side of a hit that ``neighbours`` reads.
NEIGHBOUR_RADIUS = Bounds(0, 10)
#: recall(explore)'s budget: links followed from a recall hit, and memories activation may reach.
EXPLORE_HOPS = Bounds(0, 4)
EXPLORE_NODES = Bounds(1, 500)
# recall(explore)'s budget when a caller names none: the engine, REST, the CLI and MCP share these
# (one hop at decay 0.3: what bench/explore.py's folds chose, tied with no hop; docs/benchmarks.md).
DEFAULT_EXPLORE_HOPS = 1
DEFAULT_EXPLORE_NODES = 50
DEFAULT_EXPLORE_DECAY = 0.3
#: Milliseconds since the epoch accepted for times (JavaScript's safe integer range).
TIME_MS = Bounds(0, 2**53 - 1)
#: A memory's time to live, in seconds (up to about 100 years); ``expiresAt`` is the other way to say it.
TTL_SECONDS = Bounds(1, 100 * 366 * 86_400)

# -- reads --------------------------------------------------------------------------------------------
#: Page size of the engine's ``list`` (CLI, MCP); the wire caps it lower.
LIST_LIMIT = Bounds(1, 1_000)
WIRE_LIST_LIMIT = Bounds(1, 200)
DEFAULT_LIST_LIMIT = 50
TOP_K = Bounds(1, 1_000)
DEFAULT_TOP_K = 5
#: Scores are in [SCORE_MIN, SCORE_MAX] and mean the same across calls; ``min_score`` filters on them.
SCORE_MIN, SCORE_MAX = 0, 1
#: Recall's budget: at most this many memories, and this many tokens of context.
MAX_ITEMS = Bounds(1, 50)
DEFAULT_MAX_ITEMS = 4
MAX_TOKENS = Bounds(10, 2_000)
DEFAULT_MAX_TOKENS = 150
#: The wire approximates a token as four characters (spec §6).
CHARS_PER_TOKEN = 4
THRESHOLDS = ("strict", "balanced", "permissive")
#: Candidates recall can also report as left out (the dashboard's playground asks for some).
NEAR_MISSES = Bounds(0, 100)
DEFAULT_THRESHOLD = "balanced"
#: The recall log (which memories each recall returned, for consolidation's decay and compose) keeps
#: a year; older recalls still count in a memory's ``recall_count``.
RECALL_LOG_DAYS = 365

# -- code memory and formal reasoning ------------------------------------------------------------
#: Solver time of one prove or audit call (ms): bounded, so a hard question answers "unknown", never hangs.
PROOF_MS = Bounds(1, 60_000)
DEFAULT_PROOF_MS = 5_000
#: Files in one code ingest request and characters of one file's path (the SDK sends larger trees in parts).
CODE_FILES = Bounds(1, 2_000)
CODE_PATH = Bounds(1, 1_024)
#: A domain's rules and the attributes one entity may declare.
DOMAIN_RULES = Bounds(0, 500)
DOMAIN_ATTRIBUTES = Bounds(1, 200)
#: Characters of one rule or statement expression.
EXPRESSION = Bounds(1, 4_000)

# -- MCP tools (narrower than the engine where a model picks the value) ------------------------------
MCP_TOP_K = Bounds(1, 20)
MCP_LIST_LIMIT = Bounds(1, 100)
DEFAULT_MCP_LIST_LIMIT = 20
#: ``memory_list`` walks cursor pages to reach an offset; this bounds the walk.
MCP_LIST_OFFSET = Bounds(0, 100_000)
MEMORY_ID = Bounds(1, 200)

# -- accounts, containers, caches, sign-in -----------------------------------------------------------
ACCOUNT_ID = Bounds(1, 255)
EMAIL = Bounds(3, 255)
SIGN_IN_CODE_DIGITS = 6
CONTAINER_NAME = Bounds(1, 255)
ISSUED_TO = Bounds(1, 255)
KEY_EXPIRES_IN_S = Bounds(1, 31_536_000)
EXTRACTION_PROMPT = Bounds(1, 32_768)
CACHE_TTL_S = Bounds(60, 86_400)
DEFAULT_CACHE_TTL_S = 86_400
CACHE_KEY = Bounds(1, 255)
CACHE_VALUE = Bounds(1, 10_240)
#: An ``Idempotency-Key`` header. A second request with the key waits up to IDEMPOTENCY_WAIT_S for the
#: first to finish; a reservation whose request died is taken over after IDEMPOTENCY_ABANDONED_S; a
#: finished key replays its answer for IDEMPOTENCY_TTL_S.
IDEMPOTENCY_KEY = Bounds(1, 255)
IDEMPOTENCY_WAIT_S = 60
IDEMPOTENCY_ABANDONED_S = 300
IDEMPOTENCY_TTL_S = 86_400

# -- requests and the database --------------------------------------------------------------------
#: Every HTTP request body, in bytes, checked before it is parsed (the largest valid body, a 32 768-unit
#: extraction prompt written as JSON escapes, is about 200 KB).
REQUEST_BODY_MAX_BYTES = 1_048_576
#: Nesting of arrays and objects in any JSON a request, an MCP message or an import line carries.
JSON_MAX_DEPTH = 32
#: How long a write waits for another process's write lock before failing with ``storage_busy``.
BUSY_TIMEOUT_MS = 30_000

# -- dashboard ----------------------------------------------------------------------------------------
#: Memories per page of a scope, and the search results shown (the best ones).
DASHBOARD_PAGE_SIZE = 50
DASHBOARD_SEARCH_RESULTS = 20
#: The recall playground also lists this many candidates that did not make the context, with why.
PLAYGROUND_NEAR_MISSES = 10
#: Days of calls the usage chart draws.
USAGE_CHART_DAYS = 30
#: A memory's value is cut to this many characters in tables (the memory's page shows all of it).
DASHBOARD_PREVIEW_CHARS = 200


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate code point, which no UTF-8 file or database can store.

    Decoding joins valid pairs into one code point, so what is left is a lone surrogate: from
    ``surrogateescape``-decoded bytes (a non-UTF-8 command-line argument) or a JSON ``\\ud800``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_character(text: str) -> bool:
    """True when ``text`` holds a control character (Unicode category Cc: NUL, newline, DEL, C1...).

    Names (scopes, keys, emails, cache keys) must print as what they are: ``"k"`` and ``"k\\0"``, or an
    email with a trailing newline, would otherwise be two names that look the same.
    """
    return _CONTROL.search(text) is not None


def json_depth_exceeds(value: object, limit: int = JSON_MAX_DEPTH) -> bool:
    """True when ``value`` (parsed JSON) nests arrays and objects deeper than ``limit``."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def utf16_len(text: str) -> int:
    """Length as JavaScript counts it: UTF-16 code units (an emoji counts 2; a lone surrogate 1)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# -- sync -----------------------------------------------------------------------------------------
#: The largest encrypted namespace any plan may store; each plan's ``sync_bytes`` is its own, lower cap.
SYNC_BLOB_MAX_BYTES = 8 * 1024 * 1024 * 1024

# -- registry packages ------------------------------------------------------------------------
#: A package tarball as uploaded and downloaded (gzip-compressed).
TARBALL_MAX_BYTES = 256 * 1024 * 1024
#: What a tarball may unpack to in all; a member's declared size is checked before it is read.
UNPACKED_MAX_BYTES = 1024 * 1024 * 1024
#: Members a tarball may hold (a package has two: memory.json and memories.jsonl).
TARBALL_MAX_MEMBERS = 8
#: One memory of a package (value, metadata and vector as JSON); a longer line is refused unread.
PACKAGE_LINE_MAX_BYTES = 256 * 1024
#: The manifest, read into memory whole.
MANIFEST_MAX_BYTES = 1024 * 1024
#: Share links: default and longest lifetime, in hours.
SHARE_DEFAULT_HOURS = 7 * 24
SHARE_MAX_HOURS = 365 * 24
