"""An assistant answer as a sequence of prose sentences and code blocks, with their offsets,
for the learned forge detector.

Hard-wrapped lines are joined back into their paragraph; a Markdown list item, a heading,
a table row or a labelled line ("Fix: ...") starts a unit of its own; fenced code blocks are
segments of their own. Inline code never ends a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .markdown import CodeBlock, fenced_code_blocks

_UNIT_START = re.compile(
    r"^[ \t]*(?:[-*+][ \t]|\d{1,3}[.)][ \t]|#{1,6}[ \t]|>|\||"
    r"(?:\*\*|__)?[A-Z][A-Za-z ]{0,24}(?:\*\*|__)?[ \t]*:(?:\*\*|__)?[ \t])"
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
# A sentence ends at . ! ? (or a colon that ends a line) followed by space or the end.
_SENTENCE_END = re.compile(r"[.!?]+(?=[\s\"')\]]|$)|:(?=[ \t]*(?:\n|$))")
MAX_SENTENCES = 80


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence of prose (`code` is None) or a fenced code block."""

    start: int
    end: int
    text: str  # whitespace-normalised prose, or the code
    code: CodeBlock | None = None

    @property
    def is_code(self) -> bool:
        return self.code is not None


def _units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of paragraphs (hard wraps joined) and of list items / labelled lines."""
    units: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    position = start
    for line in text[start:end].splitlines(keepends=True):
        line_start, line_end = position, position + len(line.rstrip("\n"))
        position += len(line)
        if not line.strip():
            if current:
                units.append(current)
            current = None
            continue
        if current is None or _UNIT_START.match(line):
            if current:
                units.append(current)
            current = (line_start, line_end)
        else:
            current = (current[0], line_end)
    if current:
        units.append(current)
    return units


def _sentences(text: str, start: int, end: int) -> list[Segment]:
    chunk = text[start:end]
    # Inline code holds no sentence ends: mask it (same length).
    masked = _INLINE_CODE.sub(lambda m: "x" * len(m.group(0)), chunk)
    found: list[Segment] = []
    begin = 0
    for match in _SENTENCE_END.finditer(masked):
        stop = match.end()
        piece = chunk[begin:stop]
        if piece.strip():
            found.append(_prose(text, start + begin, start + stop))
        begin = stop
    if chunk[begin:].strip():
        found.append(_prose(text, start + begin, end))
    return found


def _prose(text: str, start: int, end: int) -> Segment:
    while start < end and text[start].isspace():
        start += 1
    return Segment(start, end, " ".join(text[start:end].split()))


def unwrap(text: str) -> str:
    """`text` with the line breaks inside hard-wrapped prose paragraphs turned into spaces
    (same length, same offsets): what a reader of the rendered Markdown sees as one line."""
    chars = list(text)
    position = 0
    for block in [*fenced_code_blocks(text), None]:
        stop = block.start if block is not None else len(text)
        for unit_start, unit_end in _units(text, position, stop):
            for index in range(unit_start, unit_end):
                if chars[index] == "\n":
                    chars[index] = " "
        if block is not None:
            position = block.end
    return "".join(chars)


def segments(text: str) -> list[Segment]:
    """The answer's sentences and code blocks, in order (at most MAX_SENTENCES prose)."""
    result: list[Segment] = []
    position = 0
    for block in [*fenced_code_blocks(text), None]:
        stop = block.start if block is not None else len(text)
        for unit_start, unit_end in _units(text, position, stop):
            result.extend(_sentences(text, unit_start, unit_end))
        if block is not None:
            result.append(Segment(block.start, block.end, block.code, block))
            position = block.end
    prose = 0
    kept = []
    for segment in result:
        prose += not segment.is_code
        if prose > MAX_SENTENCES:
            break
        kept.append(segment)
    return kept
