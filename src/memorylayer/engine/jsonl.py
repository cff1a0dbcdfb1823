"""The JSON Lines format of ``export`` and ``import``: one memory per line, times in ISO 8601 (UTC)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from .. import limits
from ..errors import InvalidRequest
from ..limits import JSON_MAX_DEPTH
from ..types import MemoryRecord, NewMemory, Refused, iso_ms
from . import validation as v


def export_line(record: MemoryRecord) -> str:
    """One memory as a line of JSON (with its newline)."""
    line = {
        "id": record.id,
        "scope": record.scope,
        "key": record.key,
        "value": record.value,
        "metadata": record.metadata,
        "importance": record.importance,
        "source": record.source,
        "created_at": iso_ms(record.created_at),
        "updated_at": iso_ms(record.updated_at),
        "expires_at": iso_ms(record.expires_at),
    }
    return json.dumps(line, ensure_ascii=False) + "\n"


def read_lines(fp: IO[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of a text stream; bytes that are not UTF-8 are a clear error, not a crash.

    A stream opened with ``errors="surrogateescape"`` (as the CLI opens files) turns bad bytes into
    lone surrogates instead, which validation then refuses with the exact line number.

    Raises:
        InvalidRequest: a strict stream held bytes that are not UTF-8.
    """
    number = 0
    try:
        for number, line in enumerate(fp, start=1):
            if number == 1:
                line = _first_line(line)
            yield number, line
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"after line {number}: not UTF-8 text ({exc.reason})") from None


#: Byte-order marks of UTF-16 and UTF-32 as a UTF-8 ``surrogateescape`` stream reads them.
_WIDE_BOMS = ("\udcff\udcfe", "\udcfe\udcff", "\x00\x00\udcfe\udcff")


def _first_line(line: str) -> str:
    """The first line without a UTF-8 byte-order mark; a UTF-16 or UTF-32 file is a clear error.

    Raises:
        InvalidRequest: the file starts with a UTF-16 or UTF-32 byte-order mark.
    """
    if line.startswith("\ufeff"):
        return line[1:]
    if line.startswith(_WIDE_BOMS):
        raise InvalidRequest("line 1: the file is UTF-16 or UTF-32 text; JSON Lines must be UTF-8 (convert it)")
    return line


def parse(lines: Iterable[tuple[int, str]], scope: str | None) -> Iterator[tuple[str, NewMemory]]:
    """(scope, memory) of every non-blank line; ``scope`` overrides the lines' own.

    Raises:
        InvalidRequest: a line is not valid JSON or not a memory (its line number is given).
    """
    for number, line in lines:
        if line.strip():
            yield _line(number, line, scope)


def parse_each(lines: Iterable[tuple[int, str]], scope: str) -> Iterator[NewMemory | Refused]:
    """The memory of every non-blank line, or (a partial batch) a ``Refused`` naming its line number."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield _line(number, line, scope)[1]
        except InvalidRequest as exc:
            yield Refused(exc.code, exc.message, exc.details)


def _line(number: int, line: str, scope: str | None) -> tuple[str, NewMemory]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"line {number}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidRequest(f"line {number}: JSON nested deeper than {JSON_MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"line {number}: expected a JSON object")
    try:
        return _memory(data, scope)
    except InvalidRequest as exc:
        raise InvalidRequest(f"line {number}: {exc.message}") from None


def _memory(data: dict[str, Any], scope: str | None) -> tuple[str, NewMemory]:
    importance = data.get("importance")
    return v.scope(scope if scope is not None else data.get("scope")), NewMemory(
        value=v.memory_value(data.get("value")),
        key=None if data.get("key") is None else v.key(data.get("key")),
        metadata=v.metadata(data.get("metadata")),
        importance=None if importance is None else v.unit_interval(importance, "importance"),
        created_at=parse_time(data.get("created_at"), "created_at"),
        updated_at=parse_time(data.get("updated_at"), "updated_at"),
        source="imported",
        expires_at=parse_time(data.get("expires_at"), "expires_at"),
    )


def by_scope(fp: IO[str], scope: str | None, now: int) -> dict[str, list[NewMemory]]:
    """The memories of a JSON Lines stream by scope (``scope`` overrides the lines' own), less those
    that expired since the export: importing them would bring back what is gone.

    Raises:
        InvalidRequest: a line is not valid JSON, not UTF-8 or not a memory (its line number is given).
    """
    found: dict[str, list[NewMemory]] = {}
    for line_scope, item in parse(read_lines(fp), scope):
        if item.expires_at is None or item.expires_at > now:
            found.setdefault(line_scope, []).append(item)
    return found


def parse_time(value: Any, field: str = "time") -> int | None:
    """Milliseconds from an integer or an ISO 8601 string; None stays None.

    A time without an offset ("2023-05-08 13:56") is UTC, as every stored time is, never the
    machine's local time, so the same file imports the same everywhere.

    Raises:
        InvalidRequest: anything else, or a time before 1970.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return v.integer(value, field, limits.TIME_MS)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            return v.integer(int(stamp.timestamp() * 1000), field, limits.TIME_MS)
    raise InvalidRequest(f"{field}: bad timestamp {value!r} (expected an ISO 8601 time, UTC unless it has an offset)")
