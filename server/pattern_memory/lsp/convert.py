"""Domain values <-> lsprotocol: offsets to positions, severities, pattern summaries."""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..languages import KNOWN_LANGUAGES, language_of, normalize_language
from ..matching.finder import FoundFix
from ..matching.generalize import support_line
from ..matching.match import CodeMatch
from ..memory.team_store import TeamOrigin
from ..memory.types import StoredPattern
from ..settings import DiagnosticSeverity

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

SEVERITIES = {
    DiagnosticSeverity.ERROR: types.DiagnosticSeverity.Error,
    DiagnosticSeverity.WARNING: types.DiagnosticSeverity.Warning,
    DiagnosticSeverity.INFORMATION: types.DiagnosticSeverity.Information,
    DiagnosticSeverity.HINT: types.DiagnosticSeverity.Hint,
}


def document_language(uri: str, language_id: str | None) -> str:
    """The document's language under the miner's names (the names patterns carry): its
    languageId when that is a language we know, else by its file name; "" if neither."""
    by_id = normalize_language(language_id or "")
    if by_id in KNOWN_LANGUAGES:
        return by_id
    return language_of(PurePosixPath(urlparse(uri).path).name)


class LineIndex:
    """Offsets in a text to LSP positions in the client's encoding (UTF-16 by default).
    Line breaks are the protocol's: \\n, \\r\\n and \\r."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.text = text
        self.codec = codec
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def position(self, offset: int) -> types.Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return types.Position(line, self.codec.client_num_units(self.text[start:offset]))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))


@dataclass(frozen=True)
class LocatedFix:
    """A found fix with its places as LSP ranges of the document version it was found in."""

    found: FoundFix[StoredPattern]
    range: types.Range  # the code that resembles the before-code
    edit_range: types.Range  # the span the fix replaces

    @property
    def stored(self) -> StoredPattern:
        return self.found.stored

    @property
    def match(self) -> CodeMatch:
        return self.found.match

    @property
    def preferred(self) -> bool:
        return self.found.preferred

    @property
    def shown(self) -> bool:
        return self.found.shown

    @property
    def pattern_id(self) -> str:
        return self.found.pattern_id

    @property
    def members(self) -> tuple[str, ...]:
        """A generalized template's members (matching/generalize.py); () for one pattern."""
        return self.found.members


def locate(
    fixes: Iterable[FoundFix[StoredPattern]], text: str, codec: PositionCodec
) -> tuple[LocatedFix, ...]:
    index = LineIndex(text, codec)
    return tuple(
        LocatedFix(
            fix,
            index.range(fix.match.start, fix.match.end),
            index.range(fix.match.replace_start, fix.match.replace_end),
        )
        for fix in fixes
    )


def contains(outer: types.Range, position: types.Position) -> bool:
    at = (position.line, position.character)
    return (outer.start.line, outer.start.character) <= at <= (outer.end.line, outer.end.character)


def overlaps(a: types.Range, b: types.Range) -> bool:
    a_start, a_end = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b_start, b_end = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a_start <= b_end and b_start <= a_end


def change_diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(before.split("\n"), after.split("\n"), lineterm="", n=3)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
# What starts a heading, list, quote or rule when at the beginning of a line.
_MARKDOWN_LINE_START = re.compile(r"^(\s*|\s*\d+(?=[.)]))([#+\-=.)])")


def escape_markdown(text: str) -> str:
    """Plain text (one line) shown as itself in Markdown: `__init__`, `*args`, an unclosed
    fence, a leading `#` or `1.`."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", text)
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


_BACKTICK_RUNS = re.compile(r"`+")


def code_fence(code: str) -> str:
    """A backtick fence longer than any run of backticks in `code` (so none can close it)."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(code)), default=0)
    return "`" * max(3, longest + 1)


def track_record(stored: StoredPattern) -> str:
    if stored.lifecycle.uses == 0:
        return f"no uses yet (prior {stored.success_rate:.0%})"
    return f"{stored.success_rate:.0%} over {stored.lifecycle.uses} uses"


def team_line(origin: TeamOrigin) -> str:
    """Who a team pattern comes from: its first author, then everyone who shared it too."""
    others = [name for name in origin.contributors if name != origin.created_by]
    line = f"team pattern from {origin.created_by}"
    return line + (f", also shared by {', '.join(others)}" if others else "")


def pattern_markdown(
    stored: StoredPattern, origin: TeamOrigin | None = None, members: tuple[str, ...] = ()
) -> str:
    """The hover text: what was learned, from whom and when, how well it worked; a team
    pattern (`origin`) says so, with its contributors; a generalized fix (`members`: its
    fixes' pattern ids, `stored` the most recent) lists the fixes behind it."""
    pattern = stored.pattern
    diff = change_diff(pattern.before_code, pattern.after_code)
    fence = code_fence(diff)
    message = pattern.commit_msg.strip() or "(no message)"
    title = "Team fix" if origin is not None else "Learned fix"
    details = [
        f"**{title}** `{pattern.pattern_id}`",
        "",
        "  \n".join(escape_markdown(line) for line in message.split("\n")),
        "",
        f"- date: {escape_markdown(pattern.date)}",
        f"- author: {escape_markdown(pattern.author)}",
        f"- confidence: {pattern.confidence:.2f}",
        f"- success rate: {track_record(stored)}",
    ]
    if origin is not None:  # under the title: whose it is comes first
        details[1:1] = ["", f"*{escape_markdown(team_line(origin))}*"]
    if pattern.file_path:
        details.append(f"- learned in: {escape_markdown(pattern.file_path)}")
    if members:
        ids = ", ".join(f"`{member}`" for member in members)
        details.append(f"- {support_line(members)}: {ids}")
    details += ["", f"{fence}diff", diff, fence]
    return "\n".join(details)
