"""Widening a changed line range to the block that encloses it, so that a pattern reads as a
whole unit (a function, a method, a class) that an editor can recognise later.

Python: the innermost `def` or `class` (with its decorators) around the change. Other
languages: the innermost enclosing block whose header looks like a function, class or type
declaration, else the innermost indentation block. A block longer than `max_lines` falls back
to the innermost block that fits, then to None (the caller keeps the diff hunk itself).
Blocks are found by indentation, which needs no parser and copes with any language and with
code that does not compile.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PYTHON_HEADER = re.compile(r"^\s*(?:async\s+def|def|class)\s")
_DECLARATION = re.compile(
    r"^\s*(?:(?:export|default|public|private|protected|internal|static|final|abstract|async|"
    r"override|virtual|inline|extern|unsafe|const|open|suspend|sealed|partial|pub(?:\([^)]*\))?)"
    r"\s+)*(?:func|function|fn|def|sub|fun|class|struct|impl|trait|interface|enum|module|"
    r"object|record|namespace|type)\b"
)
_CONTROL = re.compile(
    r"^\s*(?:\}\s*)?(?:if|else|for|foreach|while|do|switch|case|catch|try|finally|return|"
    r"unless|until|elif|with|match|when|loop|select|defer|go)\b"
)
# A C-like function or method definition: `<type> name(args) {` on one line.
_C_FUNCTION = re.compile(r"^\s*[\w:<>\[\]*&,. ]+\([^;]*\)\s*(?:const\s*)?(?:->\s*[^{]+)?\{\s*$")
_ARROW_FUNCTION = re.compile(r"=>\s*\{\s*$")
_COMMENT_STARTS = ("#", "//", "/*", "* ", "*/", "--")
_CLOSERS = (")", "]", "}")
_CLOSING_LINE = re.compile(r"^(?:[)\]}]+[;,)\]}]*|end)\s*$")


def indentation(line: str) -> int:
    """Leading white space in columns (a tab reaches the next multiple of 8)."""
    width = len(line) - len(line.lstrip(" \t"))
    if "\t" in line[:width]:
        return len(line[:width].expandtabs(8))
    return width


def _ignorable(line: str) -> bool:
    """Blank and comment lines say nothing about the block structure."""
    stripped = line.lstrip()
    return not stripped or stripped.startswith(_COMMENT_STARTS)


def _is_header(line: str, language: str) -> bool:
    if language == "python":
        return bool(_PYTHON_HEADER.match(line))
    if _CONTROL.match(line):
        return False
    return bool(_DECLARATION.match(line) or _C_FUNCTION.match(line) or _ARROW_FUNCTION.search(line))


def enclosing_block(
    lines: Sequence[str], language: str, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    """1-based inclusive (start, end) of the block around lines first..last, or None when
    there is none (a top-level change) or none within `max_lines`."""
    count = len(lines)
    first, last = max(1, first), min(max(first, last), count)
    if first > count:
        return None
    while first > 1 and _ignorable(lines[first - 1]):
        first -= 1  # anchor on real code, not on a blank line
    whole = _innermost_block(lines, language, first, last, max_lines)
    if first == last:
        return whole
    # A change that spans sibling blocks (the end of one function and the next one): from the
    # block of its first line to the block of its last, when that is tighter than the block
    # around both (the class, the module-level `if`).
    head = _innermost_block(lines, language, first, first, max_lines)
    tail = _innermost_block(lines, language, last, last, max_lines)
    if head is None or tail is None:
        return whole
    siblings = (head[0], max(tail[1], last))
    if siblings[1] - siblings[0] + 1 > max_lines:
        return whole
    if whole is None or siblings[1] - siblings[0] < whole[1] - whole[0]:
        return siblings
    return whole


def _innermost_block(
    lines: Sequence[str], language: str, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    candidates = _enclosing_headers(lines, first, last, language, max_lines)
    if not candidates:
        return None
    preferred = next((h for h in candidates if _is_header(lines[h - 1], language)), None)
    for header in dict.fromkeys([h for h in (preferred, candidates[0]) if h is not None]):
        extent = _block_extent(lines, header, language, header + max_lines)
        if extent is None:
            continue
        start, end = min(extent[0], first), max(extent[1], last)
        if end - start + 1 <= max_lines:
            return start, end
    return None


def _enclosing_headers(
    lines: Sequence[str], first: int, last: int, language: str, max_lines: int
) -> list[int]:
    """Header lines of the blocks around first..last, innermost first, no further than
    `max_lines` above (a block starting further up is too long anyway). A changed range that
    starts with a header line (a new or edited signature) is its own innermost block."""
    code = [i for i in range(first, last + 1) if not _ignorable(lines[i - 1])]
    if not code:
        return []
    threshold = min(indentation(lines[i - 1]) for i in code)
    headers: list[int] = []
    if indentation(lines[code[0] - 1]) == threshold and _is_header(lines[code[0] - 1], language):
        headers.append(code[0])
    number = first - 1
    lowest = max(1, last - max_lines)
    while number >= lowest and threshold > 0:
        line = lines[number - 1]
        if not _ignorable(line):
            width = indentation(line)
            if width < threshold:
                headers.append(_header_start(lines, number, width))
                threshold = width
        number -= 1
    return headers


def _header_start(lines: Sequence[str], number: int, width: int) -> int:
    """A header line that closes a bracket (`) -> int:`, `} else {`) belongs to the lines
    above it at the same indentation: move up to the one that opened it."""
    while number > 1 and lines[number - 1].lstrip().startswith(_CLOSERS):
        above = number - 1
        while above >= 1 and (
            _ignorable(lines[above - 1]) or indentation(lines[above - 1]) > width
        ):
            above -= 1
        if above < 1 or indentation(lines[above - 1]) != width:
            break
        number = above
    return number


def _block_extent(
    lines: Sequence[str], header: int, language: str, limit: int
) -> tuple[int, int] | None:
    """(start, end) of the block a header opens; None if it runs past line `limit`."""
    width = indentation(lines[header - 1])
    start = header
    if language == "python":
        while (
            start > 1
            and lines[start - 2].lstrip().startswith("@")
            and (indentation(lines[start - 2]) == width)
        ):
            start -= 1  # decorators belong to their function
    end = header
    for number in range(header + 1, len(lines) + 1):
        if number > limit:
            return None
        line = lines[number - 1]
        if _ignorable(line):
            continue
        line_width = indentation(line)
        if line_width > width:
            end = number
            continue
        stripped = line.strip()
        if line_width == width and (stripped.startswith(_CLOSERS) or stripped == "end"):
            end = number
            if language != "python" and _CLOSING_LINE.match(stripped):
                break
            continue  # `) -> int:` of a signature, `} else {`
        break
    return start, end
