"""Cutting a document into lookup windows that survive edits elsewhere.

Windows are runs of top-level blocks (a block starts at an unindented line). Where a window
ends is decided by the content of its last block's first line (content-defined chunking,
about BLOCKS_PER_WINDOW blocks on average), never by counting from the top of the file:
an edit inside one function changes that function's window only, and every other window
keeps its text, and with it its cached lookup and tokens. A window never exceeds
MAX_WINDOW_LINES; a longer block is cut into pieces from its start.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

MAX_WINDOW_LINES = 60
BLOCKS_PER_WINDOW = 3
# Unindented lines that continue the statement above rather than start a new one.
_CONTINUATIONS = (")", "]", "}", "@", "else", "elif", "except", "finally", "catch")


@dataclass(frozen=True, slots=True)
class Window:
    offset: int  # where the window's text starts in the document
    text: str


def _starts_block(line: str, previous: str) -> bool:
    if not line or line[0].isspace() or line.startswith(_CONTINUATIONS):
        return False
    return not previous.startswith("@")  # a decorated definition starts at its decorator


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    starts = [0]
    previous = ""
    for number, line in enumerate(lines):
        if number and _starts_block(line, previous):
            starts.append(number)
        if line.strip():
            previous = line
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


def _ends_window(first_line: str) -> bool:
    return zlib.crc32(first_line.encode("utf-8", "surrogatepass")) % BLOCKS_PER_WINDOW == 0


def split_windows(text: str) -> list[Window]:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    spans: list[tuple[int, int]] = []
    open_span: tuple[int, int] | None = None
    for first, last in _blocks(lines):
        if open_span is not None and last - open_span[0] > MAX_WINDOW_LINES:
            spans.append(open_span)
            open_span = None
        if open_span is None and last - first > MAX_WINDOW_LINES:
            spans.extend(
                (start, min(start + MAX_WINDOW_LINES, last))
                for start in range(first, last, MAX_WINDOW_LINES)
            )
            continue
        open_span = (open_span[0] if open_span else first, last)
        if _ends_window(lines[first]):
            spans.append(open_span)
            open_span = None
    if open_span is not None:
        spans.append(open_span)
    return [
        Window(offsets[first], "\n".join(lines[first:last]))
        for first, last in spans
        if any(line.strip() for line in lines[first:last])
    ]
