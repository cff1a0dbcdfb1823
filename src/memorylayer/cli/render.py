"""Every line the CLI prints for a person goes through here, so stored text can never alter the output.

Memory values, keys, namespaces, metadata and error messages are user content: code, Markdown and log
lines hold ``[brackets]``, ``:colons:`` and terminal escapes. The consoles below never read markup,
emoji codes or highlighting from a string, our own styles are attached as spans of :class:`rich.text.Text`,
and :func:`clean` shows control characters (ANSI escapes, carriage returns, bidirectional overrides)
as visible ``\\x1b``-style escapes instead of sending them to the terminal. ``--json`` output is exact.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import MemoryLayerError

stdout = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)

#: Kept as they are: a value's own line breaks and tabs lay out like text, they cannot move the cursor back.
_KEPT = frozenset("\n\t")
#: Format characters that reorder or hide what follows (Trojan Source): shown escaped like controls.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: A styled piece of a line: plain text, or (text, rich style name).
Part = str | tuple[str, str]


def _visible(char: str) -> str:
    if char in _KEPT:
        return char
    if char in _BIDI or unicodedata.category(char) == "Cc":
        point = ord(char)
        return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"
    return char


def clean(text: str) -> str:
    """``text`` with every control character that could move the cursor or recolour the terminal made visible."""
    if text.isprintable():
        return text
    return "".join(_visible(c) for c in text)


def line(*parts: Part) -> Text:
    """One line from literal parts; a ``(text, style)`` part is styled, never parsed."""
    out = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        out.append(clean(text), style=style)
    return out


def say(*parts: Part) -> None:
    """Print one line of results on stdout."""
    stdout.print(line(*parts))


def note(*parts: Part) -> None:
    """Print one line about the results (progress, hints) on stderr."""
    stderr.print(line(*parts))


def write(text: str) -> None:
    """Write prompt-ready text as it is (no wrapping), with control characters made visible."""
    sys.stdout.write(clean(text) + ("\n" if text else ""))


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[str] = ()) -> None:
    """Print a table on stdout; every cell is literal text."""
    justified = set(right)
    out = Table(show_lines=False)
    for name in columns:
        out.add_column(name, overflow="fold", justify="right" if name in justified else "left")
    for row in rows:
        out.add_row(*(Text(clean(cell)) for cell in row))
    stdout.print(out)


def emit_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, exactly what is stored."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def error_line(error: MemoryLayerError) -> Text:
    """``error [code] message``: the stable code always shows, whatever the message holds."""
    return line(("error", "red"), f" [{error.code}] {error.message}")


def fail(error: MemoryLayerError, as_json: bool) -> NoReturn:
    """Render ``error`` (as ``{"error": {...}}`` with ``--json``) and exit with its stable code."""
    if as_json:
        emit_json({"error": error.to_dict()})
    else:
        stderr.print(error_line(error))
    raise typer.Exit(error.exit_code)
