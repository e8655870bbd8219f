"""`index`: mine a repository's history, store the patterns, embed them; incremental and
resumable.

Mining goes oldest first and the cursor (the last commit read) is saved in the same
transaction as the patterns of the commits before it, so a kill at any moment leaves a
database whose cursor matches its patterns; the next run continues after the cursor.
Embedding lags behind: patterns without a vector get one every EMBED_EVERY_PATTERNS new
patterns or EMBED_EVERY_SECONDS (so that a long first run is searchable early; large
chunks let the embedder group texts of similar length) and at the end of a run, or on the
next run if this one was killed first. Lexical search sees a pattern as soon as it is stored.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from ..memory.revert_store import RevertRecord
from ..memory.service import PatternMemory
from ..memory.text import lookup_text
from ..memory.types import SaveStatus
from ..memory.vectorize import Progress
from ..mining import MinedCommit, MineOptions, head_commit, mine_commits
from ..mining.classify import rule_family
from ..mining.gitproc import run_git
from ..mining.miner import check_repository
from ..patterns import Pattern
from .report import IndexReport

BATCH_PATTERNS = 256
BATCH_COMMITS = 500
BATCH_SECONDS = 2.0
EMBED_EVERY_PATTERNS = 1024
EMBED_EVERY_SECONDS = 30.0


def index_repository(
    memory: PatternMemory,
    repo_path: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    embed_progress: Progress | None = None,
) -> IndexReport:
    """Mine the repository's new commits, store and embed their patterns (in `memory`, for
    its settings' user). progress(done, total) counts commits mined; embed_progress(done,
    total) counts the patterns given a vector (each time embedding runs)."""
    store, settings = memory.store, memory.settings
    started = time.perf_counter()
    repository = str(repository_root(Path(repo_path)))
    report = IndexReport(repository=repository)
    report.head = head_commit(Path(repository))
    since = store.cursors.last_commit(settings.user_id, repository)
    if report.head is None or since == report.head:
        # Nothing new; a repository without commits (just `git init`ed) has nothing yet.
        report.up_to_date = True
    else:
        options = MineOptions(
            max_hunk_lines=settings.max_hunk_lines,
            anonymize_authors=settings.anonymize_authors,
            extended_classifier=True,  # also the fixes without the seed's keywords
        )

        def on_progress(done: int, total: int) -> None:
            report.commits_total = total
            if progress is not None:
                progress(done, total)

        batch: list[Pattern] = []
        learned_by: dict[str, str] = {}  # pattern id -> the rule that classified its commit
        reverts: list[RevertRecord] = []
        commits_in_batch = 0
        last_commit: str | None = None
        flushed_at = embedded_at = time.monotonic()
        unembedded = 0

        def flush() -> None:
            nonlocal batch, reverts, commits_in_batch, flushed_at, embedded_at, unembedded
            if last_commit is None or commits_in_batch == 0:
                return
            items = [(p, lookup_text(p)) for p in batch]
            saved = store.save_batch(
                items=items,
                user_id=settings.user_id,
                created_at=memory.now(),
                repository=repository,
                last_commit=last_commit,
                commits_read=commits_in_batch,
                reverts=reverts,
            )
            unembedded += _count_saved(report, batch, saved, learned_by)
            report.reverts += len(reverts)
            batch, reverts, commits_in_batch, flushed_at = [], [], 0, time.monotonic()
            if (
                unembedded >= EMBED_EVERY_PATTERNS
                or time.monotonic() - embedded_at > EMBED_EVERY_SECONDS
            ):
                _embed(memory, report, cancel=cancel, progress=embed_progress)
                unembedded, embedded_at = 0, time.monotonic()

        for mined in mine_commits(
            Path(repository), options, since_commit=since, progress=on_progress
        ):
            batch.extend(
                p if p.repository else dataclasses.replace(p, repository=repository)
                for p in mined.patterns
            )
            learned_by.update(_rules_by_pattern(mined))
            if mined.reverts or mined.reverted_subject:
                # Stored after the batch's patterns, in the same transaction.
                reverts.append(RevertRecord(mined.hexsha, mined.reverts, mined.reverted_subject))
            last_commit = mined.hexsha
            commits_in_batch += 1
            report.commits_read += 1
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            if (
                len(batch) >= BATCH_PATTERNS
                or commits_in_batch >= BATCH_COMMITS
                or time.monotonic() - flushed_at > BATCH_SECONDS
            ):
                flush()
        flush()
    if not report.cancelled:
        _embed(memory, report, cancel=cancel, progress=embed_progress)
    report.seconds = time.perf_counter() - started
    return report


def repository_root(path: Path) -> Path:
    """The top level of the repository `path` is in (a subdirectory indexes, and keeps its
    cursor under, the whole repository); the path itself for a bare repository. A path
    that is not in a repository is a RepositoryError."""
    check_repository(path)
    code, top = run_git(path, ["rev-parse", "--show-toplevel"], check=False)
    return Path(top).resolve() if code == 0 and top else path.resolve()


def _count_saved(
    report: IndexReport,
    batch: list[Pattern],
    saved: list[tuple[str, SaveStatus]],
    learned_by: dict[str, str],
) -> int:
    """Count a saved batch into the report; returns how many patterns were new."""
    added = 0
    for pattern, (_id, status) in zip(batch, saved, strict=True):
        rule = learned_by.pop(pattern.pattern_id, None)
        if status is SaveStatus.ADDED:
            added += 1
            report.by_type[pattern.problem_type.value] += 1
            if rule:
                report.by_rule[rule] += 1
            report.by_file[pattern.file_path] += 1
        elif status is SaveStatus.FORGOTTEN:
            report.forgotten += 1
        else:
            report.duplicates += 1
    report.patterns_added += added
    return added


def _rules_by_pattern(mined: MinedCommit) -> dict[str, str]:
    """pattern id -> the rule that classified the commit ("keyword", "fix intent"...)."""
    if mined.classification is None:
        return {}
    rule = rule_family(mined.classification)
    return {pattern.pattern_id: rule for pattern in mined.patterns}


def _embed(
    memory: PatternMemory,
    report: IndexReport,
    *,
    cancel: threading.Event | None,
    progress: Progress | None,
) -> None:
    result = memory.embed_pending(cancel=cancel, progress=progress)
    report.embedded += result.embedded
    report.embedded_from_cache += result.from_cache
    if cancel is not None and cancel.is_set():
        report.cancelled = True
