"""CLI subcommands of the local pattern memory: search, stats, forget, feedback,
export, import, reindex. Heavy imports stay inside the handlers (`--help` stays instant)."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .common import ProgressBar, add_db_argument, open_memory, settings_from_args

if TYPE_CHECKING:
    from ..memory.stats import LifecycleCounts, Stats
    from ..memory.types import ImportReport, SearchHit

SEARCH_WINDOW_LINES = 10


def register(subparsers: Any) -> None:
    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> Any:
        parser = subparsers.add_parser(name, help=help_, description=help_)
        add_db_argument(parser)
        parser.set_defaults(handler=handler)
        return parser

    p = add("search", _search, "find learned patterns for a text or for the code at a line")
    p.add_argument("text", nargs="?", help="what to look for (a message, an error, code)")
    p.add_argument("--file", type=Path, help="use the code around --line in this file")
    p.add_argument("--line", type=int, help="1-based line number in --file")
    p.add_argument("-k", type=int, help="how many results (default: maxInjected)")
    p.add_argument("--json", action="store_true", help="print JSON lines")

    p = add("stats", _stats, "counts and metrics of the pattern memory")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add(
        "forget",
        _forget,
        "delete a pattern for good: indexing or importing the same change again skips it",
    )
    p.add_argument("pattern_id")

    p = add("feedback", _feedback, "record whether a pattern helped")
    p.add_argument("pattern_id")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--helpful", dest="outcome", action="store_const", const="helpful")
    group.add_argument("--not-helpful", dest="outcome", action="store_const", const="not_helpful")
    group.add_argument("--applied", dest="outcome", action="store_const", const="applied")

    p = add(
        "export",
        _export,
        "write every pattern as JSONL (the seed's format, plus each pattern's lifecycle)",
    )
    p.add_argument("output", nargs="?", type=Path, help="file to write (default: stdout)")

    p = add(
        "import",
        _import,
        "add patterns from a JSONL file (duplicates are skipped; an export's lifecycle "
        "state is restored)",
    )
    p.add_argument("input", type=Path)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    add("reindex", _reindex, "rebuild the vector index from the patterns table")


# --- search -----------------------------------------------------------------------------


def code_window(path: Path, line: int, radius: int = SEARCH_WINDOW_LINES) -> str:
    """The lines around `line` (1-based) in a file: the query for `search --file --line`."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = text.splitlines()
    if not 1 <= line <= max(len(lines), 1):
        raise InputError(f"{path} has {len(lines)} line(s); --line {line} is outside it")
    start = max(0, line - 1 - radius)
    return "\n".join(lines[start : line + radius])


def _search(args: argparse.Namespace) -> int:
    if args.file is None and args.line is not None:
        raise InputError("--line needs --file")
    if args.file is not None and args.line is None:
        raise InputError("--file needs --line")
    if args.file is None and not (args.text and args.text.strip()):
        raise InputError("give a text to search for, or --file F --line N")
    if args.file is not None and args.text:
        raise InputError("give either a text or --file/--line, not both")
    if args.k is not None and args.k < 1:
        raise InputError("-k must be at least 1")
    settings = settings_from_args(args)
    window = code_window(args.file, args.line) if args.file is not None else None
    with open_memory(settings) as memory:
        if window is not None:
            # Stale and reverted patterns too, flagged: the editor and injection skip them.
            hits = memory.search_code(
                window,
                k=args.k or settings.max_injected,
                include_stale=True,
                include_reverted=True,
            )
            # A change the editor never flags (comments, docstrings, imports only...) can
            # contain the window's code whole: after the others, and flagged.
            withheld = {hit.stored.pattern.pattern_id: editor_withholds(hit) for hit in hits}
            hits.sort(key=lambda hit: withheld[hit.stored.pattern.pattern_id] is not None)
        else:
            hits = memory.search(args.text, k=args.k, include_stale=True, include_reverted=True)
            withheld = {}
        # Printed before the memory closes: closing writes metrics, and nothing the user
        # asked for may wait for (or be lost to) that write.
        print_hits(hits, as_json=args.json, withheld=withheld)
        if not hits and not args.json:
            hint = hidden_hint(memory.lifecycle_counts(), settings.decay_after_days)
            if hint:
                print(hint)
        pending = memory.store.vectors.count_unembedded()
        if pending:  # the results may be incomplete, whatever was found
            print(pending_hint(pending).strip(), file=sys.stderr)
    return 0


def hidden_hint(counts: LifecycleCounts, decay_after_days: int) -> str:
    """Why a search may find nothing, or what it shows that the editor and injection
    skip: patterns the lifecycle hides."""
    parts: list[str] = []
    if counts.decayed:
        parts.append(
            f"{counts.decayed} pattern(s) are past decayAfterDays={decay_after_days} "
            "(shown here as stale, not injected nor offered by the editor); "
            "set decayAfterDays: 0 to keep them"
        )
    if counts.retired:
        parts.append(f"{counts.retired} retired pattern(s) (rarely helped) are not searched")
    return "  " + "; ".join(parts) + "." if parts else ""


def pending_hint(pending: int) -> str:
    """Patterns stored without a vector (an `index` or `import` was interrupted while
    embedding) are found by words only: say so, and what completes them."""
    return (
        f"  {pending} pattern(s) have no vector yet (an index or import was interrupted "
        "while embedding): they are found by their words only; `pattern-memory index` "
        "or `pattern-memory import` embeds them."
    )


def editor_withholds(hit: SearchHit) -> str | None:
    """Why the editor never shows this pattern as a diagnostic (matching/withheld.py), if
    it does not."""
    from ..languages import normalize_language
    from ..matching.withheld import withheld_reason

    pattern = hit.stored.pattern
    language = normalize_language(pattern.language)
    reason = withheld_reason(pattern.before_code, pattern.after_code, language, pattern.commit_msg)
    return reason.value if reason is not None else None


def print_hits(
    hits: list[SearchHit], *, as_json: bool, withheld: dict[str, str | None] | None = None
) -> None:
    """`withheld`: by pattern id, why the editor never flags a hit (shown with it)."""
    if as_json:
        from ..memory.hit_json import hit_json

        # One hit per line, in the language server's search shape (camelCase).
        for hit in hits:
            print(json.dumps(hit_json(hit), ensure_ascii=False))
        return
    if not hits:
        print("No learned pattern matches (see `pattern-memory stats`).")
    for rank, hit in enumerate(hits, start=1):
        print(describe_hit(rank, hit, (withheld or {}).get(hit.stored.pattern.pattern_id)))
    sys.stdout.flush()


def describe_hit(rank: int, hit: SearchHit, withheld: str | None = None) -> str:
    pattern = hit.stored.pattern
    where = pattern.file_path or "(no file)"
    commit = pattern.commit[:12] or pattern.source.value
    stored = hit.stored
    flags = "".join(
        [
            "  [stale: past decayAfterDays]" if stored.stale else "",
            f"  [reverted by {stored.reverted_by[:12]}]" if stored.reverted_by else "",
            f"  [never flagged in the editor: {withheld}]" if withheld else "",
        ]
    )
    seen = f"  seen {stored.evidence_count}x" if stored.evidence_count > 1 else ""
    head = (
        f"{rank}. score {hit.score:.2f}  id {pattern.pattern_id}  {pattern.problem_type.value}"
        f"  success {hit.stored.success_rate:.0%}{seen}{flags}\n"
        f"   commit {commit}  {pattern.date}  {where}\n"
        f"   {pattern.commit_msg.strip().splitlines()[0] if pattern.commit_msg.strip() else ''}"
    )
    diff = difflib.unified_diff(
        pattern.before_code.splitlines(),
        pattern.after_code.splitlines(),
        fromfile=f"a/{where}",
        tofile=f"b/{where}",
        lineterm="",
    )
    return head + "\n" + "\n".join("   " + line for line in diff) + "\n"


# --- the rest ---------------------------------------------------------------------------


def _stats(args: argparse.Namespace) -> int:
    with open_memory(settings_from_args(args)) as memory:
        stats = memory.stats()
        print_stats(stats, as_json=args.json)
    return 0


def print_stats(stats: Stats, *, as_json: bool) -> None:
    from ..memory.metrics import FORGED, INJECTED

    if as_json:
        print(json.dumps(stats.as_json(), indent=2, sort_keys=True))
        return
    lookup, counts = stats.lookup_ms, stats.lifecycle
    types = ", ".join(f"{k}: {v}" for k, v in stats.by_type.items()) or "none"
    print(
        f"database: {stats.db_path} (schema {stats.schema_version}, "
        f"sqlite-vec {stats.vec_version or 'not loaded: NumPy fallback'})"
    )
    print(
        f"patterns: {stats.patterns} ({counts.active} active, {counts.decayed} past "
        f"decayAfterDays, {counts.retired} retired, {counts.reverted} reverted; "
        f"{stats.embedded} embedded); "
        f"by type: {types}"
    )
    print(f"feedback: {stats.feedback} outcome(s)")
    for repo, commit in stats.repositories.items():
        print(f"indexed: {repo} up to {commit[:12]}")
    print(
        f"patterns.injected: {stats.counters.get(INJECTED, 0)}  "
        f"patterns.forged: {stats.counters.get(FORGED, 0)}  "
        f"patterns.lookup_ms: count {lookup.count}, last {lookup.last:.1f}, "
        f"p50 {lookup.p50:.1f}, p95 {lookup.p95:.1f}"
    )
    sys.stdout.flush()


def _forget(args: argparse.Namespace) -> int:
    with open_memory(settings_from_args(args)) as memory:
        if not memory.forget(args.pattern_id):
            raise InputError(f"no pattern with id {args.pattern_id!r}")
        print(f"Forgot pattern {args.pattern_id}.", flush=True)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from ..memory.types import Outcome

    with open_memory(settings_from_args(args)) as memory:
        stored = memory.record_outcome(args.pattern_id, Outcome(args.outcome))
        state = "retired" if stored.retired else f"success rate {stored.success_rate:.0%}"
        uses = stored.lifecycle.uses
        print(
            f"Recorded {args.outcome} for {args.pattern_id}: {uses} use(s), {state}.",
            flush=True,
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..memory.transfer import write_export, write_export_file

    with open_memory(settings_from_args(args)) as memory:
        if args.output is None:
            write_export(memory.iter_stored(), sys.stdout)
            sys.stdout.flush()
            return 0
        count = write_export_file(memory.iter_stored(), args.output)
        print(f"Exported {count} pattern(s) to {args.output}.", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from ..memory.transfer import read_export

    lines = list(read_export(args.input))  # a bad line fails before anything is stored
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress)
    with open_memory(settings_from_args(args), create=True) as memory:
        try:
            report = memory.import_patterns(
                [p for p, _ in lines],
                [s for _, s in lines],
                embed_progress=bar.phase("embedding", "patterns"),
            )
        finally:
            bar.close()
        print(describe_import(report, args.input), flush=True)
    return 0


def describe_import(report: ImportReport, source: Path) -> str:
    text = f"Imported {report.added} new pattern(s) from {source} ({report.known} already known)."
    if report.forgotten:
        text += f"\n  {report.forgotten} forgotten earlier, skipped (`forget` lasts)"
    if report.conflicts:
        shown = ", ".join(report.conflicts[:5]) + (", ..." if len(report.conflicts) > 5 else "")
        text += (
            f"\n  {len(report.conflicts)} conflict(s): an id you already have for another "
            f"change, kept as it was: {shown}"
        )
    if report.embedded or report.embedded_from_cache:
        text += f"\n  embedded {report.embedded} text(s), {report.embedded_from_cache} from cache"
    return text


def _reindex(args: argparse.Namespace) -> int:
    with open_memory(settings_from_args(args)) as memory:
        result = memory.reindex()
        print(
            f"Rebuilt the vector index: {result.embedded + result.from_cache} pattern(s), "
            f"{result.from_cache} from the embedding cache.",
            flush=True,
        )
    return 0
