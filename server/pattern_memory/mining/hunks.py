"""A diff hunk -> the before and after code of its pattern, each widened to the enclosing
block of the file as it was before the commit and as the commit left it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..patterns import normalize_code
from .blocks import Layout, enclosing_block
from .classify import Classification, confidence
from .files import language_of, looks_generated, skip_reason
from .gitlog import FileChange, Hunk
from .gitproc import BlobStream

Span = tuple[int, int]  # 1-based inclusive line numbers


def decode_text(data: bytes) -> str:
    """UTF-8, else Latin-1 (which decodes any bytes): a non-UTF-8 file still gives readable
    code, never an error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True, slots=True)
class FileSides:
    """A changed file as it was (old) and as it became (new); None where it did not exist."""

    language: str
    old_lines: Layout | None
    new_lines: Layout | None

    @staticmethod
    def wanted(change: FileChange) -> bool:
        """False when the file is not mined: binary, submodule, lock file, vendored, generated
        by name, not code, or nothing but hunks too large to keep."""
        if change.binary or change.submodule or not change.hunks:
            return False
        return not skip_reason(change.path) and not all(h.oversized for h in change.hunks)

    @staticmethod
    def blob_ids(change: FileChange) -> list[str]:
        sides = ((change.old_path, change.old_blob), (change.new_path, change.new_blob))
        return [blob for path, blob in sides if path and blob]

    @classmethod
    def open(cls, change: FileChange, blobs: BlobStream) -> FileSides | None:
        """Both sides of a wanted file, taken from `blobs` (asked for with `blob_ids`); None
        if one is missing (a shallow or partial clone) or the file carries a generator's
        marker."""
        contents = {blob: blobs.take(blob) for blob in cls.blob_ids(change)}
        old = contents.get(change.old_blob or "") if change.old_path else None
        new = contents.get(change.new_blob or "") if change.new_path else None
        if (change.old_path and old is None) or (change.new_path and new is None):
            return None
        if looks_generated(new if new is not None else old or b""):
            return None
        return cls(
            language=language_of(change.path),
            old_lines=Layout(decode_text(old).split("\n")) if old is not None else None,
            new_lines=Layout(decode_text(new).split("\n")) if new is not None else None,
        )


@dataclass(frozen=True, slots=True)
class HunkChange:
    hunk_key: str  # identifies the hunk within its file, for the pattern id
    before_range: Span | None
    after_range: Span | None
    before_code: str
    after_code: str
    change_size: int  # characters on the removed and added lines

    def same_blocks(self, other: HunkChange) -> bool:
        return (self.before_range, self.after_range) == (other.before_range, other.after_range)

    def absorb(self, other: HunkChange) -> HunkChange:
        """Two hunks that widen to the same blocks are one pattern."""
        return replace(self, change_size=self.change_size + other.change_size)

    def confidence(self, decision: Classification, before: str, after: str) -> float:
        return confidence(decision, before, after, self.change_size)


@dataclass(slots=True)
class _Side:
    changed_first: int = 0
    changed_last: int = 0
    anchor: int = 0  # where the other side's change stands, when this side has none

    def touch(self, number: int) -> None:
        if not self.changed_first:
            self.changed_first = number
        self.changed_last = number

    def anchor_at(self, position: int) -> None:
        if not self.anchor:
            self.anchor = max(1, position - 1)  # the line before the insertion point

    def span(self) -> Span:
        if self.changed_first:
            return self.changed_first, self.changed_last
        return self.anchor, self.anchor


def read_hunk(hunk: Hunk, sides: FileSides, max_block_lines: int) -> HunkChange | None:
    """The hunk's pattern code, or None if it is too large or changes only white space at
    line ends."""
    if hunk.oversized:
        return None
    old, new = _Side(), _Side()
    old_number, new_number = hunk.old_start, hunk.new_start
    size = 0
    for line in hunk.lines:
        marker = line[:1]
        if marker == b"-":
            old.touch(old_number)
            new.anchor_at(new_number)
            size += _text_length(line)
            old_number += 1
        elif marker == b"+":
            new.touch(new_number)
            old.anchor_at(old_number)
            size += _text_length(line)
            new_number += 1
        else:
            old_number += 1
            new_number += 1
    before_range, before_code = _widen(
        sides.old_lines, sides.language, old.span(), (hunk.old_start, hunk.old_count),
        max_block_lines,
    )  # fmt: skip
    after_range, after_code = _widen(
        sides.new_lines, sides.language, new.span(), (hunk.new_start, hunk.new_count),
        max_block_lines,
    )  # fmt: skip
    if normalize_code(before_code) == normalize_code(after_code):
        return None
    key = f"{hunk.old_start},{hunk.old_count},{hunk.new_start},{hunk.new_count}"
    return HunkChange(key, before_range, after_range, before_code, after_code, size)


def _widen(
    lines: Layout | None,
    language: str,
    changed: Span,
    hunk: tuple[int, int],
    max_block_lines: int,
) -> tuple[Span | None, str]:
    if lines is None:
        return None, ""
    start, count = hunk
    span = enclosing_block(lines, language, changed[0], changed[1], max_block_lines)
    if span is None:
        if count == 0:
            return None, ""
        span = (start, start + count - 1)  # the hunk itself, with git's context lines
    code = "\n".join(line.rstrip("\r") for line in lines.lines[span[0] - 1 : span[1]])
    return span, code


def _text_length(diff_line: bytes) -> int:
    return len(diff_line[1:].rstrip(b"\r\n").decode("utf-8", "replace"))
