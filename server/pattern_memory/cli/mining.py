"""`pattern-memory extract`: mine a repository's history into the seed's JSONL format (also
`python scripts/extract_patterns_from_git.py`, with the same flags)."""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..signals import terminate_as_interrupt


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="mine a repository's git history into a JSONL file of patterns",
        description="Mine bug fixes and features from a repository's git history into the "
        "seed's JSONL format, one pattern per changed hunk.",
    )
    add_extract_arguments(parser)
    parser.set_defaults(handler=run_extract)


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo-path", default=".", metavar="PATH", help="default: .")
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="the JSONL file to write; - for stdout"
    )
    parser.add_argument(
        "--since-date", metavar="YYYY-MM-DD", help="only commits authored on or after (UTC)"
    )
    parser.add_argument(
        "--include-unknown",
        action="store_true",
        help="also keep commits that are neither bug fixes nor features",
    )
    parser.add_argument(
        "--anonymize-authors",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replace author emails by stable pseudonyms (setting anonymizeAuthors)",
    )
    parser.add_argument(
        "--max-hunk-lines",
        metavar="N",
        help="skip hunks with more changed lines than this (setting maxHunkLines, default 200)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show commits done / total on stderr (default: on when stderr is a terminal)",
    )


def parse_since_date(text: str | None) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--since-date: expected a date like 2024-01-31, got {text!r}") from None


def run_extract(args: argparse.Namespace) -> int:
    from ..fileio import atomic_text_writer
    from ..mining.miner import MineOptions, head_commit, mine_commits
    from ..settings import load_settings

    repo_path = Path(args.repo_path).expanduser()
    since_date = parse_since_date(args.since_date)
    if head_commit(repo_path) is None:
        raise InputError(f"{repo_path}: the repository has no commits yet")
    overrides: dict[str, Any] = {}
    if args.max_hunk_lines is not None:
        overrides["maxHunkLines"] = args.max_hunk_lines
    if args.anonymize_authors is not None:
        overrides["anonymizeAuthors"] = args.anonymize_authors
    settings = load_settings(repo_path, overrides=overrides)
    options = MineOptions(
        since_date=since_date,
        include_unknown=args.include_unknown,
        max_hunk_lines=settings.max_hunk_lines,
        anonymize_authors=settings.anonymize_authors,
    )
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    progress = ProgressLine(sys.stderr) if show_progress else None
    commits = patterns = 0

    def write(stream: IO[str]) -> None:
        nonlocal commits, patterns
        from ..patterns import write_jsonl

        for mined in mine_commits(repo_path, options, progress=progress):
            commits += 1
            patterns += write_jsonl(mined.patterns, stream)

    with terminate_as_interrupt():
        try:
            if args.output == "-":
                write(sys.stdout)
                sys.stdout.flush()
            else:
                output = Path(args.output).expanduser()
                if output.is_dir():
                    raise InputError(f"cannot write {output}: it is a directory")
                with atomic_text_writer(output) as stream:
                    write(stream)
        finally:
            if progress is not None:
                progress.finish()
    where = "stdout" if args.output == "-" else args.output
    print(f"extracted {patterns} patterns from {commits} commits -> {where}", file=sys.stderr)
    return 0


class ProgressLine:
    """`commits done / total` rewritten in place on a terminal, at most ten times a second."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._shown_at = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._shown_at < 0.1:
            return
        self._shown_at = now
        self._shown = True
        self._stream.write(f"\rextract: {done}/{total} commits")
        self._stream.flush()

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
