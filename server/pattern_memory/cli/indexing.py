"""The `index` subcommand: learn from a repository's git history (incremental, resumable).
Heavy imports stay inside the handler (`--help` stays instant)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .common import ProgressBar, add_db_argument, open_memory, settings_from_args

if TYPE_CHECKING:
    from ..indexing.report import IndexReport

TOP_FILES = 5


def register(subparsers: Any) -> None:
    help_ = "learn from a repository's git history (incremental, resumable)"
    p = subparsers.add_parser("index", help=help_, description=help_)
    add_db_argument(p)
    p.set_defaults(handler=_index)
    p.add_argument("path", nargs="?", type=Path, default=Path("."), help="default: .")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _index(args: argparse.Namespace) -> int:
    from ..indexing.indexer import index_repository, repository_root

    path = Path(args.path)
    if not path.exists():
        raise InputError(f"{path}: no such directory")
    path = repository_root(path)  # not a repository: fails before any database is made
    settings = settings_from_args(args, path)
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress)
    with open_memory(settings, create=True) as memory:
        try:
            report = index_repository(
                memory,
                path,
                progress=bar.phase("mining", "commits"),
                embed_progress=bar.phase("embedding", "patterns"),
            )
        finally:
            bar.close()
        stored = memory.store.counts.top_files(report.repository, settings.user_id, TOP_FILES)
        print(describe_index(report, stored, str(settings.db_path)))
    return 0


def describe_index(report: IndexReport, top_files: list[tuple[str, int]], db: str) -> str:
    lines: list[str] = []
    if report.head is None:
        lines.append(f"{report.repository}: no commits yet, nothing to learn.")
    elif report.up_to_date:
        pending = report.embedded + report.embedded_from_cache
        lines.append(
            f"{report.repository}: up to date, no new commits since the last run."
            if not pending
            else f"{report.repository}: up to date (no new commits); embedded {pending} "
            "pattern(s) that an interrupted run had left without a vector."
        )
    else:
        lines.append(
            f"Learned {report.patterns_added} new pattern(s) from {report.commits_read} "
            f"commit(s) of {report.repository} in {report.seconds:.1f} s"
            + (f" ({report.duplicates} already known)" if report.duplicates else "")
            + (f" ({report.forgotten} forgotten earlier, skipped)" if report.forgotten else "")
            + "."
        )
    if report.by_type:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in report.by_type.most_common())
        lines.append(f"  by type: {kinds}")
    if report.by_rule:
        rules = ", ".join(f"{rule}: {n}" for rule, n in report.by_rule.most_common())
        lines.append(f"  by rule: {rules}")
    if report.reverts:
        lines.append(f"  {report.reverts} revert commit(s): the fixes they undo are not offered")
    if report.by_file:
        files = ", ".join(f"{f} ({n})" for f, n in report.by_file.most_common(TOP_FILES))
        lines.append(f"  top files: {files}")
    elif top_files:
        files = ", ".join(f"{f} ({n})" for f, n in top_files)
        lines.append(f"  top files (all runs): {files}")
    if report.embedded or report.embedded_from_cache:
        lines.append(
            f"  embedded {report.embedded} text(s), {report.embedded_from_cache} from cache"
        )
    lines.append(f"  database: {db}")
    return "\n".join(lines)
