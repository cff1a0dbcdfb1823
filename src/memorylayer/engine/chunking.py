"""remember(chunk): a long document split on its structure into overlapping chunks (docs/operations.md).

Markdown headings (``#`` … ``######``) open sections; a section's paragraphs (blank-line separated)
are packed into chunks of at most ``target`` characters; a paragraph longer than that is packed by
sentences, and a sentence longer than that is cut at spaces. Each chunk after the first of a section
starts with the last sentences (up to ``overlap`` characters) of the chunk before it, so a fact that
straddles a boundary is whole in one of them. Plain text is a document without headings. Chunks
carry their section's heading path ("Install > Linux"), which is also written at the head of the
stored value so recall can match a question naming the section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Characters of text per chunk: a paragraph or two. Sized so that a chunk rendered in a recall context
#: (``doc.md#3: Heading > Path`` and the text) fits recall's default budget of 150 tokens = 600
#: characters with a short document name and heading; a larger chunk would be left out of every
#: default recall. Well inside the embedder's 256 word pieces too.
TARGET_CHARS = 450
OVERLAP_CHARS = 100
HEADING_CHARS = 500

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading: str
    text: str

    @property
    def value(self) -> str:
        """What is stored: the heading path, then the chunk's text."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) per section, in order; text before the first heading has an empty path."""
    path: list[str] = []
    sections: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level = len(match.group(1))
            path = [*path[: level - 1], match.group(2)]
            # Capped so a chunk's value (heading path + text) stays far inside a memory's limit.
            sections.append((" > ".join(path)[:HEADING_CHARS], []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines).strip()) for heading, lines in sections if "\n".join(lines).strip()]


def _pieces(paragraph: str, target: int) -> list[str]:
    """A paragraph as pieces of at most ``target`` characters: itself, its sentences, or cuts at spaces."""
    if len(paragraph) <= target:
        return [paragraph]
    out: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > target:
            cut = sentence.rfind(" ", 0, target)
            cut = cut if cut > target // 2 else target
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out


def _tail(text: str, overlap: int) -> str:
    """The last whole sentences of ``text`` within ``overlap`` characters (empty if none fits)."""
    kept: list[str] = []
    for sentence in reversed(_SENTENCE_END.split(text)):
        if sum(len(s) + 1 for s in kept) + len(sentence) > overlap:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


def split_document(text: str, *, target: int = TARGET_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """The chunks of ``text`` in reading order (see the module docstring); none for blank text."""
    chunks: list[Chunk] = []
    for heading, body in _sections(text.replace("\r\n", "\n")):
        pieces = [p for para in _PARAGRAPH_BREAK.split(body) for p in _pieces(" ".join(para.split()), target)]
        current = ""
        carried = ""  # the overlap that opened ``current``: a chunk of nothing else is not emitted
        for piece in pieces:
            if current and len(current) + 1 + len(piece) > target:
                chunks.append(Chunk(len(chunks), heading, current))
                carried = _tail(current, overlap)
                current = f"{carried} {piece}" if carried and len(carried) + 1 + len(piece) <= target else piece
                carried = carried if current != piece else ""
            else:
                current = f"{current} {piece}" if current else piece
        if current and current != carried:
            chunks.append(Chunk(len(chunks), heading, current))
    return chunks


def chunk_key(document: str, position: int) -> str:
    """The key of a document's chunk: re-remembering the document upserts chunk by chunk."""
    return f"{document}#{position}"
