"""Widening a changed line range to the block that encloses it, so that a pattern reads as a
whole unit (a function, a method, a class) that an editor can recognise later.

The innermost function, method, class or type around the change (Python's with its
decorators); a block longer than `max_lines` falls back to the innermost statement around the
change that fits, then to None (the caller keeps the diff hunk itself).

Blocks are read from the indentation first (no parser; any language, code that does not
compile). For the languages with a tree-sitter grammar (syntax.LANGUAGES: Python, JavaScript,
TypeScript, Go, Java, Rust, C, C++) an answer that does not check out (see _plausible) is
replaced by the parse tree's: the lines a block that fits can span are parsed then, widened
to top-level lines (which Python, gofmt and most brace code start at column 0). Parsing
every version of every file instead would cost more than the rest of mining
(docs/benchmarks.md). A change inside a syntax error keeps the indentation's answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .. import syntax
from ..syntax import BlockKind, SyntaxTree

# Languages whose doubtful blocks are taken from a parse tree. Not Go: its raw strings at
# column 0 make a third of its blocks doubtful, and the parses (tree-sitter's error recovery
# in windows that start inside them) took mining cobra from 3.2x to 4.9x `git log -p`, over
# the 3x target; Go keeps the indentation heuristic.
PARSED = syntax.LANGUAGES - {"go"}

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
# The longest window parsed for a doubtful block (a window holds a top-level block at least).
_WINDOW_LINES = 400
# Top-level lines of brace languages besides declarations (imports, variables, exports).
_TOP_LEVEL = re.compile(
    r"(?:import|package|var|const|let|use|mod|export|module|namespace|typedef|template|"
    r"using|#include|#define)\b"
)
_STRINGS = re.compile(r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`[^`\n]*`""")
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


class Layout:
    """A file's lines with their indentation, computed once per line on demand (the widening
    of several hunks of one file walks over the same lines)."""

    __slots__ = ("_widths", "_windows", "extents", "lines")

    def __init__(self, lines: Sequence[str], *, hidden: Iterable[int] = ()) -> None:
        """`hidden`: 1-based lines that say nothing about the structure (inside a string)."""
        self.lines = lines
        self._widths: list[int | None] = [None] * len(lines)
        # (header line, limit) -> the block it opens; hunks of one file share their blocks.
        self.extents: dict[tuple[int, int], tuple[int, int] | None] = {}
        for number in hidden:
            self._widths[number - 1] = -1
        self._windows: dict[tuple[int, int], _Window | None] = {}

    def syntax(self, language: str, first: int, last: int, max_lines: int) -> _Window | None:
        """The parse tree of the lines a block of at most `max_lines` around first..last can
        span, widened to top-level lines (column 0) on both sides so that the window parses
        as the file does; None for a language without a grammar or a window over
        _WINDOW_LINES lines. Windows are kept: hunks of one file often share theirs."""
        if language not in PARSED:
            return None
        count = len(self.lines)
        start = max(1, last - max_lines + 1)
        while start > 1 and not (self._top(start, language) and not self._decorated(start)):
            start -= 1
        end = min(count, first + max_lines - 1)
        while end < count and not self._top(end + 1, language):
            end += 1
        if end - start + 1 > _WINDOW_LINES:
            return None  # one huge top-level block (a Java class): parsing costs too much
        window = self._windows.get((start, end))
        if window is None and (start, end) not in self._windows:
            text = "\n".join(self.lines[start - 1 : end])
            tree = syntax.parse(text, language)
            window = self._windows[(start, end)] = _Window(tree, start - 1) if tree else None
        return window

    def _top(self, number: int, language: str) -> bool:
        """A line that starts a top-level declaration: at column 0, and in brace languages
        one that reads as a declaration (column-0 lines inside a string, a Go raw string's
        shell script, say, made windows that parse only with errors, slowly)."""
        if self.width(number) != 0:
            return False
        line = self.lines[number - 1]
        if language == "python":
            return not line.startswith((*_CLOSERS, "else", "elif", "except", "finally"))
        return bool(_TOP_LEVEL.match(line)) or _is_header(line, language)

    def _decorated(self, number: int) -> bool:
        return number > 1 and self.lines[number - 2].startswith("@")

    @classmethod
    def of_text(cls, text: str, language: str) -> Layout:
        lines = text.split("\n")
        if language == "python" and ('"""' in text or "'''" in text):
            return cls(lines, hidden=_python_string_lines(text))
        return cls(lines)

    def __len__(self) -> int:
        return len(self.lines)

    def width(self, number: int) -> int:
        """Indentation of 1-based line `number`; -1 for a blank or comment line."""
        cached = self._widths[number - 1]
        if cached is None:
            line = self.lines[number - 1]
            cached = -1 if _ignorable(line) else indentation(line)
            self._widths[number - 1] = cached
        return cached

    def text(self, number: int) -> str:
        return self.lines[number - 1]

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """The span without its leading and trailing blank lines (one line at least)."""
        while start < end and not self.lines[start - 1].strip():
            start += 1
        while end > start and not self.lines[end - 1].strip():
            end -= 1
        return start, end


def _python_string_lines(text: str) -> list[int]:
    """Lines inside Python triple-quoted strings, after the opening one: their text (a
    docstring's example, a dedented SQL query) must not be read as code. (str.find, not a
    regular expression: this runs over every Python file the miner reads.)"""
    hidden: list[int] = []
    line, counted = 1, 0
    position = 0
    double, single = text.find('"""'), text.find("'''")
    while True:
        # Search again only for a delimiter whose next occurrence was passed: searching
        # for both each time would rescan the whole file for the one it does not use.
        if 0 <= double < position:
            double = text.find('"""', position)
        if 0 <= single < position:
            single = text.find("'''", position)
        if double < 0 and single < 0:
            return hidden
        opening = double if single < 0 or 0 <= double < single else single
        closing = text.find(text[opening : opening + 3], opening + 3)
        if closing < 0:
            return hidden
        line += text.count("\n", counted, opening)
        last = line + text.count("\n", opening, closing)
        hidden.extend(range(line + 1, last + 1))
        line, counted, position = last, closing, closing + 3


def _is_header(line: str, language: str) -> bool:
    if language == "python":
        return bool(_PYTHON_HEADER.match(line))
    if _CONTROL.match(line):
        return False
    return bool(_DECLARATION.match(line) or _C_FUNCTION.match(line) or _ARROW_FUNCTION.search(line))


def enclosing_block(
    lines: Sequence[str] | Layout, language: str, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    """1-based inclusive (start, end) of the block around lines first..last, or None when
    there is none (a top-level change) or none within `max_lines`."""
    layout = lines if isinstance(lines, Layout) else Layout(lines)
    count = len(layout)
    first, last = max(1, first), min(max(first, last), count)
    if first > count:
        return None
    # Anchor on real code, not on blank or comment lines: the code lines of the change, else
    # (a change of blank lines only) the code above it.
    while first < last and layout.width(first) < 0:
        first += 1
    while last > first and layout.width(last) < 0:
        last -= 1
    while first > 1 and layout.width(first) < 0:
        first -= 1
        last = first
    guess = _indented_block(layout, language, first, last, max_lines)
    if language not in PARSED or _plausible(layout, language, guess, first):
        return guess
    window = layout.syntax(language, first, last, max_lines)
    if window is not None:
        shift = window.shift
        try:
            found = _parsed_block(window.tree, first - shift, last - shift, max_lines)
        except _Unparsed:
            return guess  # the change sits in a syntax error: keep what the indentation says
        return (found[0] + shift, found[1] + shift) if found else None
    return guess


class _Window(NamedTuple):
    tree: SyntaxTree
    shift: int  # lines of the file above the window


def _plausible(layout: Layout, language: str, block: tuple[int, int] | None, first: int) -> bool:
    """Whether the indentation's answer stands without a parse. Doubtful, and so parsed: a
    Python function right below a decorator or bracket line it left out; a brace block that
    does not balance its brackets (a string or comment at column 0 cut it, or odd
    indentation); a change at column 0 inside braces. Only those: parsing every file version
    would cost more than the rest of mining (docs/benchmarks.md)."""
    if language == "python":
        if block is None:
            return True
        # the line above at the block's indentation (over comments and a bracket's lines)
        width, above = layout.width(block[0]), block[0] - 1
        while above >= 1 and (layout.width(above) < 0 or layout.width(above) > width):
            above -= 1
        line = layout.text(above).lstrip() if above >= 1 else ""
        while line.startswith(_CLOSERS) and above > 1:
            above -= 1
            while above > 1 and (layout.width(above) < 0 or layout.width(above) > width):
                above -= 1
            line = layout.text(above).lstrip()
        return not (line.startswith("@") and layout.width(above) == width)
    if block is None:
        if layout.width(first) != 0 or layout.text(first).lstrip().startswith(_CLOSERS):
            return True
        return _depth("\n".join(layout.lines[: first - 1])) == 0
    depth, opened = 0, False
    for number in range(block[0], block[1] + 1):
        if layout.width(number) < 0:
            continue  # comment lines may hold unbalanced brackets
        depth += _depth(layout.text(number))
        opened = opened or depth > 0
        if depth < 0 or (opened and depth == 0 and number < block[1]):
            return False  # closes before its end: another block, or brackets in strings
    return depth == 0


def _depth(text: str) -> int:
    """Brackets opened minus closed, outside one-line string literals (`"{{.Name}}"`)."""
    if '"' in text or "'" in text or "`" in text:
        text = _STRINGS.sub("", text)
    return text.count("{") + text.count("(") - text.count("}") - text.count(")")


def _indented_block(
    layout: Layout, language: str, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    """enclosing_block read from the indentation, first..last anchored on code lines."""
    head = _innermost_block(layout, language, first, first, max_lines)
    if head is not None and head[1] >= last:
        return head  # the block of the first changed line holds the whole change
    whole = _innermost_block(layout, language, first, last, max_lines)
    if first == last or head is None:
        return whole
    # A change that spans sibling blocks (the end of one function and the next one): from the
    # block of its first line to the block of its last, when that is tighter than the block
    # around both (the class, the module-level `if`).
    tail = _innermost_block(layout, language, last, last, max_lines)
    # Siblings are blocks at one level: when the first line sits in a nested block (a
    # `def decorator(f):` inside a function), take the function around it, and likewise
    # for the last line.
    level = min(layout.width(head[0]), layout.width(tail[0])) if tail else 0
    head = _lift(layout, language, head, level, max_lines)
    tail = _lift(layout, language, tail, level, max_lines)
    if head is None or tail is None:
        return whole
    siblings = (head[0], max(tail[1], last))
    if siblings[1] - siblings[0] + 1 > max_lines:
        return whole
    if whole is None or siblings[1] - siblings[0] < whole[1] - whole[0]:
        return siblings
    return whole


class _Unparsed(Exception):
    """The tree cannot tell (a syntax error around the change)."""


def _parsed_block(
    tree: SyntaxTree, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    """enclosing_block from the parse tree; the same rules as by indentation."""
    head = _parsed_unit(tree, first, first, max_lines)
    if head is not None and head[1] >= last:
        return head
    whole = _parsed_unit(tree, first, last, max_lines)
    if first == last or head is None or _parsed_unit(tree, last, last, max_lines) is None:
        return whole
    # Across sibling blocks (the end of one function and the next one): from the outermost
    # block of the first line that ends before the last line, to its counterpart.
    above = [b for b in tree.enclosing(first, first) or () if b.end < last]
    below = [b for b in tree.enclosing(last, last) or () if b.start > first]
    if not above or not below:
        return whole
    if above[-1].has_error or below[-1].has_error:
        raise _Unparsed
    siblings = (above[-1].start, max(below[-1].end, last))
    if siblings[1] - siblings[0] + 1 > max_lines:
        return whole
    if whole is None or siblings[1] - siblings[0] < whole[1] - whole[0]:
        return siblings
    return whole


def _parsed_unit(tree: SyntaxTree, first: int, last: int, max_lines: int) -> tuple[int, int] | None:
    """The innermost definition around first..last if it fits, else the innermost statement
    that spans more than the change and fits, else None (top level, or too long)."""
    blocks = tree.enclosing(first, last)
    if blocks is None:
        raise _Unparsed
    found = next((b for b in blocks if b.kind is not BlockKind.STATEMENT), None)
    if found is None or found.lines > max_lines:
        found = next(
            (
                b
                for b in blocks
                if b.kind is BlockKind.STATEMENT
                and b.end > b.start
                and (b.start < first or b.end > last)
            ),
            None,
        )
        if found is None or found.lines > max_lines:
            return None
    if found.has_error:
        raise _Unparsed
    return min(found.start, first), max(found.end, last)


def _lift(
    layout: Layout, language: str, block: tuple[int, int] | None, level: int, max_lines: int
) -> tuple[int, int] | None:
    """`block`, or the block around it, outwards until its first line is indented no deeper
    than `level`; None if there is none within `max_lines`."""
    while block is not None and layout.width(block[0]) > level:
        depth = layout.width(block[0])
        above = block[0] - 1
        while above >= 1 and not 0 <= layout.width(above) < depth:
            above -= 1
        if above < 1:
            return None
        block = _innermost_block(layout, language, above, block[1], max_lines)
    return block


def _innermost_block(
    layout: Layout, language: str, first: int, last: int, max_lines: int
) -> tuple[int, int] | None:
    candidates = _enclosing_headers(layout, first, last, language, max_lines)
    if not candidates:
        return None
    preferred = next((h for h in candidates if _is_header(layout.text(h), language)), None)
    for header in dict.fromkeys([h for h in (preferred, candidates[0]) if h is not None]):
        key = (header, header + max_lines)
        if key not in layout.extents:
            layout.extents[key] = _block_extent(layout, header, language, header + max_lines)
        extent = layout.extents[key]
        if extent is None:
            continue
        start, end = min(extent[0], first), max(extent[1], last)
        if end - start + 1 <= max_lines:
            return start, end
    return None


def _enclosing_headers(
    layout: Layout, first: int, last: int, language: str, max_lines: int
) -> list[int]:
    """Header lines of the blocks around first..last, innermost first, up to the first that
    looks like a function or class and no further than `max_lines` above (a block starting
    further up is too long anyway). A changed range that starts with a header line (a new or
    edited signature) is its own innermost block."""
    width = layout.width
    code = [(n, w) for n in range(first, last + 1) if (w := width(n)) >= 0]
    if not code:
        return []
    threshold = min(w for _, w in code)
    headers: list[int] = []
    found = code[0][1] == threshold and _is_header(layout.text(code[0][0]), language)
    if found:
        headers.append(code[0][0])
    number = first - 1
    lowest = max(1, last - max_lines)
    while number >= lowest and threshold > 0 and not found:
        line_width = width(number)
        if 0 <= line_width < threshold:
            header = _header_start(layout, number, line_width)
            headers.append(header)
            threshold = line_width
            found = _is_header(layout.text(header), language)  # nothing further out is used
        number -= 1
    return headers


def _header_start(layout: Layout, number: int, width: int) -> int:
    """A header line that closes a bracket (`) -> int:`, `} else {`) belongs to the lines
    above it at the same indentation: move up to the one that opened it."""
    while number > 1 and layout.text(number).lstrip().startswith(_CLOSERS):
        above = number - 1
        while above >= 1 and (layout.width(above) < 0 or layout.width(above) > width):
            above -= 1
        if above < 1 or layout.width(above) != width:
            break
        number = above
    return number


def _block_extent(layout: Layout, header: int, language: str, limit: int) -> tuple[int, int] | None:
    """(start, end) of the block a header opens; None if it runs past line `limit`."""
    width = layout.width(header)
    start = header
    if language == "python":
        while (
            start > 1
            and layout.width(start - 1) == width
            and layout.text(start - 1).lstrip().startswith("@")
        ):
            start -= 1  # decorators belong to their function
    end = header
    line_width_of = layout.width
    for number in range(header + 1, len(layout) + 1):
        if number > limit:
            return None
        line_width = line_width_of(number)
        if line_width < 0:
            continue
        if line_width > width:
            end = number
            continue
        stripped = layout.text(number).strip()
        if line_width == width and (stripped.startswith(_CLOSERS) or stripped == "end"):
            end = number
            if language != "python" and _CLOSING_LINE.match(stripped):
                break
            continue  # `) -> int:` of a signature, `} else {`
        break
    return start, end
