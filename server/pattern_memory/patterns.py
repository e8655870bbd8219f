"""The core vocabulary: a learned pattern, its kind and origin, its dedupe key, and the JSONL
format the seed defines (one pattern per line).

Everything else in the package builds on these types; this module imports nothing from it
except the error types and the atomic-write helper.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TypeVar

from .errors import InputError
from .fileio import atomic_text_writer

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
T = TypeVar("T")
_PATTERN_ID = re.compile(r"^[0-9a-f]{16}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class ProblemType(StrEnum):
    BUG_FIX = "bug_fix"
    FEATURE_ADDITION = "feature_addition"
    UNKNOWN = "unknown"


class PatternSource(StrEnum):
    """Where a pattern was learned: mined from git, forged from an assistant answer or an
    accepted fix, or pulled from the team server."""

    GIT = "git"
    FORGE = "forge"
    TEAM = "team"


@dataclass(frozen=True, slots=True)
class LineRange:
    """1-based inclusive line range in a file (start > end means empty, e.g. a pure insertion)."""

    start: int
    end: int

    def to_json(self) -> list[int]:
        return [self.start, self.end]

    @classmethod
    def from_json(cls, value: Any) -> LineRange | None:
        if value is None:
            return None
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return cls(int(value[0]), int(value[1]))
        raise ValueError(f"expected [start, end] line numbers, got {value!r}")


def normalize_code(text: str) -> str:
    """Line endings unified and trailing white space dropped: two changes that differ only in
    these are the same change."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """The one rule for text that was not clean UTF-8 (argument, file, stdin, LSP): each
    undecodable byte (a surrogate escape) or lone surrogate becomes U+FFFD, as decoding with
    errors="replace" would, so nothing downstream (hashing, the tokenizer) meets surrogates."""
    return _SURROGATES.sub("\ufffd", text)


def commit_subject(message: str) -> str:
    """The first line of a commit message (what diagnostics and `check` show)."""
    return message.strip().split("\n", 1)[0].strip() or "(no message)"


def solution_hash(before_code: str, after_code: str) -> str:
    """The seed's dedupe key: the same change text gives the same 64-hex-char hash, wherever
    and whenever it was learned."""
    payload = clean_text(normalize_code(before_code) + "\n\x00\n" + normalize_code(after_code))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def make_pattern_id(*parts: str) -> str:
    """A stable 16-hex-char id from the parts that identify a pattern (commit, path, hunk)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Pattern:
    """One learned change: the code as it was, the code as it became, and why.

    The first eight fields are the seed's JSONL format, named and typed exactly; the rest is
    what a user needs to act on a pattern."""

    pattern_id: str
    problem_type: ProblemType
    before_code: str
    after_code: str
    commit_msg: str
    author: str
    date: str  # "YYYY-MM-DD HH:MM:SS", UTC
    confidence: float
    commit: str = ""
    file_path: str = ""
    language: str = ""
    before_lines: LineRange | None = None
    after_lines: LineRange | None = None
    solution_hash: str = field(default="")
    source: PatternSource = PatternSource.GIT
    repository: str = ""

    def __post_init__(self) -> None:
        if not self.solution_hash:
            object.__setattr__(
                self, "solution_hash", solution_hash(self.before_code, self.after_code)
            )

    def to_json_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which deep-copies (slow in extract).
        data: dict[str, Any] = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["problem_type"] = self.problem_type.value
        data["source"] = self.source.value
        data["before_lines"] = self.before_lines.to_json() if self.before_lines else None
        data["after_lines"] = self.after_lines.to_json() if self.after_lines else None
        return data

    @classmethod
    def from_json_dict(cls, data: Any) -> Pattern:
        """Build from one decoded JSONL object; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(cls)}
        required = [
            "pattern_id",
            "problem_type",
            "before_code",
            "after_code",
            "commit_msg",
            "author",
            "date",
            "confidence",
        ]
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        for name in ("pattern_id", "before_code", "after_code", "commit_msg", "author", "date"):
            if not isinstance(data[name], str):
                raise ValueError(f"field {name!r} must be a string")
        if not _PATTERN_ID.match(data["pattern_id"]):
            raise ValueError("field 'pattern_id' must be 16 lowercase hex characters")
        if not _DATE.match(data["date"]):
            raise ValueError("field 'date' must look like YYYY-MM-DD HH:MM:SS")
        confidence = data["confidence"]
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise ValueError("field 'confidence' must be a number")
        if not 0.0 <= float(confidence) <= 1.0:
            raise ValueError("field 'confidence' must be between 0 and 1")
        try:
            problem_type = ProblemType(data["problem_type"])
        except ValueError:
            raise ValueError(
                f"field 'problem_type' must be one of {[p.value for p in ProblemType]}"
            ) from None
        try:
            source = PatternSource(data.get("source", PatternSource.GIT.value))
        except ValueError:
            raise ValueError(
                f"field 'source' must be one of {[s.value for s in PatternSource]}"
            ) from None
        extras: dict[str, Any] = {}
        for name in ("commit", "file_path", "language", "solution_hash", "repository"):
            if name in data and data[name] is not None:
                if not isinstance(data[name], str):
                    raise ValueError(f"field {name!r} must be a string")
                extras[name] = data[name]
        for name in ("before_lines", "after_lines"):
            if name in data:
                try:
                    extras[name] = LineRange.from_json(data[name])
                except ValueError as exc:
                    raise ValueError(f"field {name!r}: {exc}") from None
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        return cls(
            pattern_id=data["pattern_id"],
            problem_type=problem_type,
            before_code=data["before_code"],
            after_code=data["after_code"],
            commit_msg=data["commit_msg"],
            author=data["author"],
            date=data["date"],
            confidence=float(confidence),
            source=source,
            **extras,
        )


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Pattern))


def dump_jsonl_line(pattern: Pattern) -> str:
    return json.dumps(pattern.to_json_dict(), ensure_ascii=False) + "\n"


def write_jsonl(patterns: Iterable[Pattern], stream: IO[str]) -> int:
    """Write patterns one per line to an open text stream; returns how many were written."""
    count = 0
    for pattern in patterns:
        stream.write(dump_jsonl_line(pattern))
        count += 1
    return count


def write_jsonl_file(patterns: Iterable[Pattern], path: Path) -> int:
    """Write atomically: the file appears whole or not at all."""
    with atomic_text_writer(path) as stream:
        return write_jsonl(patterns, stream)


def read_jsonl(path: Path) -> Iterator[Pattern]:
    """Read the seed's JSONL format; a bad line is an InputError naming file and line."""
    return read_jsonl_lines(path, Pattern.from_json_dict)


def read_jsonl_lines(path: Path, parse: Callable[[Any], T]) -> Iterator[T]:
    """Each non-blank line of a JSONL file, decoded and given to `parse` (which raises
    ValueError for a bad one); any failure is one InputError naming the file (and line)."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield parse(json.loads(line))
                except ValueError as exc:
                    raise InputError(f"{path}:{number}: not a valid pattern: {exc}") from None
        except UnicodeDecodeError:
            # Raised while reading ahead (text is decoded in blocks), so no line number.
            raise InputError(f"{path}: not UTF-8 text (JSONL expected)") from None
