"""`pattern-memory check FILE...`: the editor's learned-fix diagnostics as text or JSON, for
pre-commit hooks and CI. The same finder as the language server (matching/finder.py), the
same rules (only fixes that would carry a diagnostic in the editor are reported); exit 1
when a fix applies, 0 when none does, 2 for anything that stopped the check. It joins the
memory (candidates) and matching (the finder), as the language server does."""

from __future__ import annotations

import argparse
import bisect
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PatternMemoryError
from ..languages import language_of
from ..patterns import commit_subject

if TYPE_CHECKING:
    from ..matching.finder import FoundFix
    from ..memory.types import StoredPattern

# A file larger than this is not checked (the language server's limit too).
MAX_CHECKED_CHARS = 2_000_000


class CheckFailed(PatternMemoryError):
    """Anything that stopped the check: exit 2, never the 1 that means "a fix applies"."""

    exit_code = 2


@dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based, in characters
    end_line: int
    end_column: int
    pattern_id: str
    message: str
    before: str  # the document's lines the fix replaces
    after: str  # what the fix puts there

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "endLine": self.end_line,
            "endColumn": self.end_column,
            "patternId": self.pattern_id,
            "message": self.message,
            "before": self.before,
            "after": self.after,
        }


def register(subparsers: Any) -> None:
    from .common import add_db_argument

    parser = subparsers.add_parser(
        "check",
        help="report learned fixes that apply to files (exit 1 if any)",
        description=(
            "Look for code that resembles code fixed before, as the editor does, and print "
            "one line per place (path:line:column: commit subject [pattern id]). Exit 1 "
            "when a learned fix applies, 0 when none does, 2 on errors."
        ),
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print one JSON array")
    parser.add_argument("--diff", action="store_true", help="show each fix as a diff")
    add_db_argument(parser)
    parser.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from .common import open_memory, settings_from_args

    settings = settings_from_args(args)
    documents = [(path, _read(path)) for path in args.files]
    findings: list[Finding] = []
    try:
        with open_memory(settings) as memory:
            from ..matching.finder import FixFinder

            finder: FixFinder[StoredPattern] = FixFinder.create()
            for path, text in documents:
                language = _language(path)
                if not language or len(text) > MAX_CHECKED_CHARS:
                    continue
                found = finder.find(
                    memory, settings, text, language=language, path=str(path.resolve())
                )
                findings += _findings(str(path), text, found)
    except PatternMemoryError as exc:  # a missing or damaged store: exit 2, not 1
        raise CheckFailed(str(exc)) from None
    _print(findings, as_json=args.json, with_diff=args.diff)
    return 1 if findings else 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except IsADirectoryError:
        raise CheckFailed(f"{path} is a directory: give files") from None
    except OSError as exc:
        raise CheckFailed(f"cannot read {path}: {exc.strerror or exc}") from None


def _language(path: Path) -> str:
    return language_of(path.name)


def _findings(path: str, text: str, found: list[FoundFix[StoredPattern]]) -> list[Finding]:
    from ..matching.generalize import support_line  # the CLI imports matching lazily

    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def line_column(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    out: list[Finding] = []
    for fix in found:
        if not fix.shown:  # an alternative: the editor offers it, but flags only the best
            continue
        match = fix.match
        line, column = line_column(match.start)
        end_line, end_column = line_column(match.end)
        out.append(
            Finding(
                path=path,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                pattern_id=fix.pattern_id,
                message=commit_subject(fix.stored.pattern.commit_msg)
                + (f" ({support_line(fix.members)})" if fix.members else ""),
                before=text[match.replace_start : match.replace_end],
                after=match.replacement,
            )
        )
    return sorted(out, key=lambda f: (f.path, f.line, f.column))


def _print(findings: list[Finding], *, as_json: bool, with_diff: bool) -> None:
    if as_json:
        print(json.dumps([f.as_json() for f in findings], indent=2))
        return
    for finding in findings:
        print(
            f"{finding.path}:{finding.line}:{finding.column}: {finding.message} "
            f"[{finding.pattern_id}]"
        )
        if with_diff:
            diff = difflib.unified_diff(
                finding.before.splitlines(),
                finding.after.splitlines(),
                f"{finding.path}:{finding.line}",
                "learned fix",
                lineterm="",
            )
            print("\n".join(f"    {line}" for line in diff))
    if findings:
        print(f"{len(findings)} learned fix(es) apply", file=sys.stderr)


__all__ = ["CheckFailed", "Finding", "register"]
