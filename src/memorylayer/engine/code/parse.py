"""Symbols of a source file (functions, classes, methods, types) with their lines, signature and docs.

Parsed with tree-sitter and the grammar packages of the ``[code]`` extra (Python, JavaScript, TypeScript,
Go, Rust). A file in another language, or whose grammar is not installed, is indexed as a file alone.
Docs are a Python docstring, or the comments right above the definition in every language.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

#: extension -> (grammar module, function returning its language).
GRAMMARS: dict[str, tuple[str, str]] = {
    ".py": ("tree_sitter_python", "language"),
    ".pyi": ("tree_sitter_python", "language"),
    ".js": ("tree_sitter_javascript", "language"),
    ".mjs": ("tree_sitter_javascript", "language"),
    ".cjs": ("tree_sitter_javascript", "language"),
    ".jsx": ("tree_sitter_javascript", "language"),
    ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"),
    ".go": ("tree_sitter_go", "language"),
    ".rs": ("tree_sitter_rust", "language"),
}
#: node type -> kind of symbol, across the grammars above.
DEFINITIONS: dict[str, str] = {
    "function_definition": "function",
    "class_definition": "class",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "method_definition": "method",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "method_declaration": "method",
    "type_spec": "type",
    "function_item": "function",
    "struct_item": "struct",
    "enum_item": "enum",
    "trait_item": "trait",
    "impl_item": "impl",
    "mod_item": "module",
}
WRAPPERS = {"decorated_definition", "export_statement", "type_declaration"}
CONTAINERS = {"class", "impl", "trait", "interface", "struct", "module"}
#: Lines of a symbol kept as its snippet.
SNIPPET_LINES = 12
DOC_CHARS = 600


@dataclass(frozen=True)
class Symbol:
    """A definition: ``name`` qualified by its enclosing ones (``Client.get``), lines 1-based, inclusive."""

    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str
    doc: str
    snippet: str


def language_of(path: str) -> str | None:
    """The grammar module for ``path`` when it is installed, else None."""
    dot = path.rfind(".")
    entry = GRAMMARS.get(path[dot:].lower()) if dot >= 0 else None
    if entry is None:
        return None
    return entry[0] if _parser(*entry) is not None else None


@cache
def _parser(module: str, function: str) -> Any:
    try:
        from tree_sitter import Language, Parser

        grammar = importlib.import_module(module)
    except ImportError:
        return None
    return Parser(Language(getattr(grammar, function)()))


def symbols(path: str, text: str) -> list[Symbol]:
    """The definitions in ``text`` (the file at ``path``), outermost first; [] when no grammar parses it."""
    dot = path.rfind(".")
    entry = GRAMMARS.get(path[dot:].lower()) if dot >= 0 else None
    parser = _parser(*entry) if entry else None
    if parser is None:
        return []
    source = text.encode("utf-8")
    tree = parser.parse(source)
    lines = text.splitlines()
    found: list[Symbol] = []
    _visit(tree.root_node, source, lines, [], found)
    return found


def _visit(node: Any, source: bytes, lines: list[str], outer: list[str], found: list[Symbol]) -> None:
    for child in node.named_children:
        kind = DEFINITIONS.get(child.type)
        name = _name(child, source) if kind else None
        if kind and name:
            if kind == "function" and outer:
                kind = "method"
            qualified = ".".join([*outer, name])
            start, end = child.start_point[0], child.end_point[0]
            # Decorators, `export` and Go's `type (...)` wrap the definition: its docs sit above the wrapper.
            wrapped = child.parent is not None and child.parent.type in WRAPPERS
            anchor = child.parent if wrapped else child
            found.append(
                Symbol(
                    name=qualified,
                    kind=kind,
                    start_line=anchor.start_point[0] + 1,
                    end_line=end + 1,
                    signature=_signature(lines, start),
                    doc=_doc(child, anchor, source)[:DOC_CHARS],
                    snippet="\n".join(
                        lines[anchor.start_point[0] : min(end + 1, anchor.start_point[0] + SNIPPET_LINES)]
                    ),
                )
            )
            _visit(
                child, source, lines, [*outer, name] if kind in CONTAINERS | {"method", "function"} else outer, found
            )
        else:
            _visit(child, source, lines, outer, found)


def _name(node: Any, source: bytes) -> str | None:
    target = node.child_by_field_name("name")
    if target is None and node.type == "impl_item":
        target = node.child_by_field_name("type")
    if target is None:
        return None
    return source[target.start_byte : target.end_byte].decode("utf-8", errors="replace")


def _signature(lines: list[str], start: int) -> str:
    # The header up to the line that opens the body (a multi-line parameter list stays whole).
    header: list[str] = []
    for line in lines[start : start + 8]:
        header.append(line.strip())
        if line.rstrip().endswith((":", "{")) or "{" in line:
            break
    return " ".join(header)[:300]


def _doc(node: Any, anchor: Any, source: bytes) -> str:
    body = node.child_by_field_name("body")
    if body is not None and body.named_children:
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            raw = source[first.start_byte : first.end_byte].decode("utf-8", errors="replace")
            return raw.strip("rRbBuUfF").strip("\"'").strip()
    comments: list[str] = []
    previous = anchor.prev_named_sibling
    while previous is not None and previous.type in ("comment", "line_comment", "block_comment"):
        comments.insert(0, source[previous.start_byte : previous.end_byte].decode("utf-8", errors="replace"))
        previous = previous.prev_named_sibling
    return "\n".join(c.strip().lstrip("/#*").removesuffix("*/").strip() for c in comments)
