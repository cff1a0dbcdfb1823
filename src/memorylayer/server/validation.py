"""Strict request-body validation with zod-4-shaped issues (spec §1.2, §14).

JavaScript semantics are reproduced on purpose: string lengths are UTF-16 code units, integers
reject booleans and fractions, ``null`` is a wrong type and never "absent", unknown keys are
rejected (reported last), and every issue is reported at once in schema-key order.
Each schema also renders itself as JSON Schema for ``/openapi.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import limits as L
from ..errors import InvalidRequest
from ..limits import has_control_character, utf16_len

Issue = dict[str, Any]
Path = list[str | int]

_MAX_SAFE_INT = 2**53 - 1
# zod 4's email regex (ASCII only), matched against the whole string (``$`` would allow a final newline).
EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)
# zod 4's z.iso.datetime() default: Z only, optional seconds, any fraction digits; its date part
# knows month lengths and leap years.
_DATE = (
    r"(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29"
    r"|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8])))"
)
DATETIME_RE = re.compile(rf"^{_DATE}T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?Z$")
#: The same, from 1970 on: when a memory happened (``createdAt``, our extension), which is stored as
#: milliseconds since 1970.
MEMORY_TIME_RE = re.compile(rf"^(?=19[7-9]\d|[2-9]\d\d\d){DATETIME_RE.pattern[1:]}")
#: What the published patterns say about strings. Every string is free of NUL (no database stores it);
#: a ``name`` (scope, key, cache key) also holds no control character and is not blank; a ``text``
#: (value, query, search) is not blank. Checked in code, published as these patterns.
_CC = r"\x00-\x1f\x7f-\x9f"
NAME_PATTERN = rf"^[^{_CC}]*[^\s{_CC}][^{_CC}]*$"
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
NO_NUL_PATTERN = r"^[^\x00]*$"


def js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_issue(expected: str, value: Any, path: Path) -> Issue:
    received = "undefined" if value is _MISSING else js_type(value)
    return {
        "expected": expected,
        "code": "invalid_type",
        "path": path,
        "message": f"Invalid input: expected {expected}, received {received}",
    }


class _Missing:
    pass


_MISSING: Any = _Missing()


@dataclass(frozen=True)
class Str:
    min: int | None = None
    max: int | None = None
    trim: bool = False
    format: str | None = None  # "email" | "datetime" | "memory-time" | "digits" (published only: a sign-in code)
    optional: bool = False
    description: str = ""
    #: "name": no control characters and not blank; "text": not blank; "any": anything without NUL.
    kind: str = "any"

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(_type_issue("string", value, path))
            return value
        if self.trim:
            value = value.strip()
        if re.search(r"[\ud800-\udfff]", value) and not _paired(value):
            issues.append({"code": "custom", "path": path, "message": "Invalid input: unpaired UTF-16 surrogate"})
            return value
        if not self._shape_ok(value):
            message = f"Invalid string: {_SHAPE_MESSAGE[self.kind]}"
            issues.append(_format_issue("regex", self.pattern(), path, message))
            return value
        length = utf16_len(value)
        if self.min is not None and length < self.min:
            issues.append(_size_issue("too_small", self.min, path))
        if self.max is not None and length > self.max:
            issues.append(_size_issue("too_big", self.max, path))
        if self.format == "email" and not EMAIL_RE.fullmatch(value):
            issues.append(_format_issue("email", EMAIL_RE.pattern, path, "Invalid email address"))
        if self.format == "datetime" and not DATETIME_RE.fullmatch(value):
            issues.append(_format_issue("datetime", DATETIME_RE.pattern, path, "Invalid ISO datetime"))
        if self.format == "memory-time" and not MEMORY_TIME_RE.fullmatch(value):
            message = "Invalid ISO datetime (1970-01-01 or later)"
            issues.append(_format_issue("datetime", MEMORY_TIME_RE.pattern, path, message))
        return value

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        # JSON Schema counts code points; UTF-16 limits are at least as strict for BMP text.
        if self.min is not None:
            schema["minLength"] = self.min
        if self.max is not None:
            schema["maxLength"] = self.max
        schema["pattern"] = self.pattern()
        return schema

    def pattern(self) -> str:
        """The pattern this string is published with (format patterns already exclude NUL)."""
        if self.format == "digits":
            # What a valid value looks like; other text of the right length is simply wrong (401).
            return rf"^[0-9]{{{self.min}}}$"
        if self.format == "email":
            return EMAIL_RE.pattern
        if self.format == "datetime":
            return DATETIME_RE.pattern
        if self.format == "memory-time":
            return MEMORY_TIME_RE.pattern
        if self.kind == "name":
            return NAME_PATTERN
        if self.kind == "text" or (self.trim and self.min):
            return TEXT_PATTERN
        return NO_NUL_PATTERN

    def _shape_ok(self, value: str) -> bool:
        if "\x00" in value:
            return False
        if self.kind == "name" and has_control_character(value):
            return False
        blank_refused = self.kind in ("name", "text") or (self.trim and self.min)
        return not (blank_refused and value and not value.strip())


_SHAPE_MESSAGE = {
    "name": "must not be blank or contain control characters",
    "text": "must not be blank or contain NUL characters",
    "any": "must not contain NUL characters",
}


def _size_issue(code: str, bound: int, path: Path) -> Issue:
    small = code == "too_small"
    words = ("small", ">=") if small else ("big", "<=")
    return {
        "origin": "string",
        "code": code,
        "minimum" if small else "maximum": bound,
        "inclusive": True,
        "path": path,
        "message": f"Too {words[0]}: expected string to have {words[1]}{bound} characters",
    }


def _format_issue(format_: str, pattern: str, path: Path, message: str) -> Issue:
    return {
        "origin": "string",
        "code": "invalid_format",
        "format": format_,
        "pattern": pattern,
        "path": path,
        "message": message,
    }


def _paired(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Num:
    min: float | None = None
    max: float | None = None
    integer: bool = False
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            issues.append(_type_issue("number", value, path))
            return value
        if self.integer and (isinstance(value, float) and not value.is_integer() or abs(value) > _MAX_SAFE_INT):
            issue = _type_issue("int", value, path)
            issue["format"] = "safeint"
            issues.append(issue)
            return value
        if self.integer:
            value = int(value)
        if self.min is not None and value < self.min:
            issues.append(
                {
                    "origin": "number",
                    "code": "too_small",
                    "minimum": self.min,
                    "inclusive": True,
                    "path": path,
                    "message": f"Too small: expected number to be >={_num(self.min)}",
                }
            )
        if self.max is not None and value > self.max:
            issues.append(
                {
                    "origin": "number",
                    "code": "too_big",
                    "maximum": self.max,
                    "inclusive": True,
                    "path": path,
                    "message": f"Too big: expected number to be <={_num(self.max)}",
                }
            )
        return value

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.min is not None:
            schema["minimum"] = self.min
        if self.max is not None:
            schema["maximum"] = self.max
        return schema


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Bool:
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, bool):
            issues.append(_type_issue("boolean", value, path))
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Enum:
    values: tuple[Any, ...]
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if value is _MISSING or value not in self.values or type(value) is not type(self.values[0]):
            if len(self.values) == 1:
                message = f"Invalid input: expected {json.dumps(self.values[0])}"
            else:
                message = "Invalid option: expected one of " + "|".join(json.dumps(v) for v in self.values)
            issues.append({"code": "invalid_value", "values": list(self.values), "path": path, "message": message})
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class StrRecord:
    """An object whose values are all strings (recall ``defaults``)."""

    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, dict):
            issues.append(_type_issue("record", value, path))
            return value
        for key, item in value.items():
            if "\x00" in key:
                issues.append(_nul_issue([*path, key]))
                continue
            Str().check(item, [*path, key], issues)
        return value

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"type": "string", "pattern": NO_NUL_PATTERN},
        }


@dataclass(frozen=True)
class AnyObject:
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, dict):
            issues.append(_type_issue("record", value, path))
        elif _holds_nul(value):
            issues.append(_nul_issue(path))
        return value

    def json_schema(self) -> dict[str, Any]:
        # JSON Schema cannot say "no NUL in any nested string"; docs/server.md lists this deviation.
        return {"type": "object"}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _nul_issue(path: Path) -> Issue:
    return {"code": "custom", "path": path, "message": "Invalid input: NUL characters are not allowed"}


@dataclass(frozen=True)
class Matching:
    """A string matching ``regex`` in full (registry names, versions and slugs), published as its pattern."""

    regex: str
    max: int = 255
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(_type_issue("string", value, path))
        elif len(value) > self.max or re.fullmatch(self.regex, value) is None:
            issues.append(_format_issue("regex", f"^{self.regex}$", path, "Invalid string: must match the pattern"))
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{self.regex}$", "maxLength": self.max}


@dataclass(frozen=True)
class Items:
    """An array of ``min``-``max`` objects, each checked by ``item`` (issues carry the index in their path)."""

    item: Schema
    min: int
    max: int
    optional: bool = False
    description: str = ""

    def check(self, value: Any, path: Path, issues: list[Issue]) -> Any:
        if not isinstance(value, list):
            issues.append(_type_issue("array", value, path))
            return value
        for code, bound, bad in (
            ("too_small", self.min, len(value) < self.min),
            ("too_big", self.max, len(value) > self.max),
        ):
            if bad:
                small = code == "too_small"
                words = ("small", ">=") if small else ("big", "<=")
                message = f"Too {words[0]}: expected array to have {words[1]}{bound} items"
                issue = {"origin": "array", "code": code, "minimum" if small else "maximum": bound}
                issues.append({**issue, "inclusive": True, "path": path, "message": message})
                return value
        return [self.item.check_object(element, [*path, i], issues) for i, element in enumerate(value)]

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema(), "minItems": self.min, "maxItems": self.max}


FieldSpec = Str | Num | Bool | Enum | StrRecord | AnyObject | Matching | Items


@dataclass(frozen=True)
class Schema:
    """A strict object schema; ``refine`` runs only when every field passed."""

    fields: dict[str, FieldSpec]
    refine: Callable[[dict[str, Any]], list[Issue]] | None = None
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, body: Any) -> dict[str, Any]:
        """The validated body (present keys only, strings trimmed where the schema says so).

        Raises:
            InvalidRequest: with ``details`` = the issue list.
        """
        issues: list[Issue] = []
        if not isinstance(body, dict):
            issues.append(_type_issue("object", body, []))
            raise InvalidRequest("Invalid request body", details=issues)
        out = self.check_object(body, [], issues)
        if issues:
            raise InvalidRequest("Invalid request body", details=issues)
        return out

    def check_object(self, body: Any, path: Path, issues: list[Issue]) -> dict[str, Any]:
        """The checked object at ``path``, its issues appended (``refine`` only if it has none)."""
        if not isinstance(body, dict):
            issues.append(_type_issue("object", body, path))
            return {}
        found: list[Issue] = []
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in body:
                if not spec.optional:
                    spec.check(_MISSING, [*path, name], found)
                continue
            out[name] = spec.check(body[name], [*path, name], found)
        unknown = [k for k in body if k not in self.fields]
        if unknown:
            noun = "key" if len(unknown) == 1 else "keys"
            found.append(
                {
                    "code": "unrecognized_keys",
                    "keys": unknown,
                    "path": path,
                    "message": f"Unrecognized {noun}: " + ", ".join(json.dumps(k) for k in unknown),
                }
            )
        if not found and self.refine is not None:
            found.extend({**issue, "path": [*path, *issue["path"]]} for issue in self.refine(out))
        issues.extend(found)
        return out

    def json_schema(self) -> dict[str, Any]:
        props = {}
        for name, spec in self.fields.items():
            prop = spec.json_schema()
            if spec.description:
                prop["description"] = spec.description
            props[name] = prop
        schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        required = [n for n, s in self.fields.items() if not s.optional]
        if required:
            schema["required"] = required
        schema.update(self.extra)
        return schema


EMPTY = Schema({})


def _importance_needs_key(body: dict[str, Any]) -> list[Issue]:
    # Our extension: a verbatim add (``extract: false``) may carry an importance too.
    if "importance" in body and "key" not in body and body.get("extract") is not False:
        message = "importance is only valid with key (explicit path)"
        return [{"code": "custom", "path": ["importance"], "message": message}]
    return []


def _length(bounds: L.Bounds, **options: Any) -> Str:
    return Str(bounds.min, bounds.max, **options)


def _integer(bounds: L.Bounds, **options: Any) -> Num:
    return Num(bounds.min, bounds.max, integer=True, **options)


SCOPE = _length(L.SCOPE, kind="name", description="Partition of memories (1-255 UTF-16 units).")
_EXPIRES_AT = "Extension: when the memory disappears on its own (a future instant; not with ttlSeconds)."
_PARTIAL = "true: a bad item, or a new memory past the memory limit, is refused in its result; the rest are written."
_TTL = "Extension: the memory disappears this many seconds after the add (not with expiresAt)."
_AS_OF = "Extension: answer with what was valid at this instant (superseded values with validFrom/validTo)."
KEY = _length(L.KEY, kind="name")

ADD = Schema(
    {
        "scope": SCOPE,
        "key": _length(L.KEY, kind="name", optional=True),
        "value": _length(L.VALUE, kind="text"),
        "importance": Num(L.IMPORTANCE_MIN, L.IMPORTANCE_MAX, optional=True),
        "createdAt": Str(
            format="memory-time",
            optional=True,
            description="Extension: when it happened (default: now). Sets a new memory's createdAt.",
        ),
        "extract": Bool(
            optional=True,
            description="Extension: false stores an unkeyed value verbatim instead of extracting facts from it.",
        ),
        "expiresAt": Str(format="memory-time", optional=True, description=_EXPIRES_AT),
        "ttlSeconds": _integer(L.TTL_SECONDS, optional=True, description=_TTL),
    },
    refine=_importance_needs_key,
    name="AddMemory",
    # importance needs key, or extract: false
    extra={
        "not": {
            "required": ["importance"],
            "not": {
                "anyOf": [{"required": ["key"]}, {"properties": {"extract": {"const": False}}, "required": ["extract"]}]
            },
        }
    },
)
BATCH_ITEM = Schema(
    {
        "key": _length(L.KEY, kind="name", optional=True),
        "value": _length(L.VALUE, kind="text"),
        "importance": Num(L.IMPORTANCE_MIN, L.IMPORTANCE_MAX, optional=True),
        "createdAt": Str(format="memory-time", optional=True),
        "expiresAt": Str(format="memory-time", optional=True, description=_EXPIRES_AT),
        "ttlSeconds": _integer(L.TTL_SECONDS, optional=True, description=_TTL),
    },
    name="BatchItem",
)
BATCH = Schema(
    {
        "scope": SCOPE,
        "items": Items(BATCH_ITEM, L.BATCH_ITEMS.min, L.BATCH_ITEMS.max),
        "dedup": Bool(optional=True, description="false keeps every unkeyed value even when it repeats."),
        "partial": Bool(optional=True, description=_PARTIAL),
    },
    name="AddMemoryBatch",
)

GET = Schema(
    {"scope": SCOPE, "key": KEY, "asOf": Str(format="memory-time", optional=True, description=_AS_OF)}, name="GetMemory"
)
REMOVE = Schema({"scope": SCOPE, "key": KEY}, name="RemoveMemory")
LIST = Schema(
    {
        "scope": _length(L.SCOPE, kind="name", optional=True),
        "source": Enum(("explicit", "extracted", "all"), optional=True),
        "search": _length(L.LIST_SEARCH, kind="text", optional=True),
        "createdAfter": Str(format="datetime", optional=True),
        "createdBefore": Str(format="datetime", optional=True),
        "orderBy": Enum(("updatedAt", "createdAt", "importance", "lastRecalledAt", "expiresAt"), optional=True),
        "orderDir": Enum(("desc", "asc"), optional=True),
        "limit": _integer(L.WIRE_LIST_LIMIT, optional=True),
        "cursor": Str(optional=True),
        "includeTotal": Bool(optional=True),
        "expiring": Bool(optional=True, description="Extension: only memories with an expiry (what will go)."),
        "asOf": Str(format="memory-time", optional=True, description=_AS_OF),
    },
    name="ListMemories",
)
RECALL = Schema(
    {
        "scope": SCOPE,
        "query": _length(L.QUERY, kind="text"),
        "maxItems": _integer(L.MAX_ITEMS, optional=True),
        "maxTokens": _integer(L.MAX_TOKENS, optional=True),
        "defaults": StrRecord(optional=True),
        "threshold": Enum(L.THRESHOLDS, optional=True),
        "asOf": Str(format="memory-time", optional=True, description=_AS_OF),
    },
    name="Recall",
)
EXTRACTION_PROMPT = Schema({"prompt": _length(L.EXTRACTION_PROMPT, trim=True)}, name="ExtractionPrompt")
CHECKOUT = Schema({"tier": Enum(("basic", "pro"))}, name="Checkout")
CONTAINER_CREATE = Schema(
    {"name": _length(L.CONTAINER_NAME), "metadata": AnyObject(optional=True)}, name="CreateContainer"
)
CONTAINER_KEY = Schema(
    {
        "issuedTo": _length(L.ISSUED_TO),
        "scopes": Str(optional=True),
        "expiresIn": _integer(L.KEY_EXPIRES_IN_S, optional=True),
    },
    name="CreateContainerKey",
)
CONTAINER_DELETE = Schema({"confirm": Enum((True,))}, name="DeleteContainer")
CACHE_CREATE = Schema({"ttlSeconds": _integer(L.CACHE_TTL_S, optional=True)}, name="CreateCache")
CACHE_SET = Schema(
    {"key": _length(L.CACHE_KEY, kind="name"), "value": _length(L.CACHE_VALUE, kind="text")}, name="CacheSet"
)
CACHE_KEY = Schema({"key": _length(L.CACHE_KEY, kind="name")}, name="CacheKey")
CLAIM_TOKEN = Schema({"claimToken": Str(1)}, name="ClaimToken")
REQUEST_CODE = Schema({"email": Str(max=L.EMAIL.max, format="email")}, name="RequestCode")
VERIFY_CODE = Schema(
    {
        "email": Str(max=L.EMAIL.max, format="email"),
        "code": Str(L.SIGN_IN_CODE_DIGITS, L.SIGN_IN_CODE_DIGITS, format="digits"),
        "issuedTo": _length(L.ISSUED_TO, optional=True),
    },
    name="VerifyCode",
)
