"""Git history -> patterns: the mining contract (docs/architecture.md).

One streaming `git log -p` reads the history oldest first; each commit's message is
classified before its diff is parsed, so that skipped commits cost almost nothing; each kept
hunk is widened to its enclosing block on both sides (blobs read by one `git cat-file
--batch`), scrubbed of secrets, scored and turned into a Pattern.
"""

from __future__ import annotations

import contextlib
import datetime
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RepositoryError
from ..patterns import DATE_FORMAT, LineRange, Pattern, ProblemType, make_pattern_id
from .classify import Classification, classify_for_index, classify_message
from .gitlog import (
    CommitHeader,
    FileChange,
    LogCommit,
    count_commits,
    reverted_commits,
    reverted_subject,
    stream_log,
)
from .gitproc import BlobStream, run_git
from .hunks import FileSides, HunkChange, read_hunk
from .scrub import anonymize_emails, pseudonym, scrub_text

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MineOptions:
    since_date: datetime.date | None = None
    include_unknown: bool = False
    max_hunk_lines: int = 200  # Settings.max_hunk_lines: hunks with more changed lines skipped
    anonymize_authors: bool = False  # Settings.anonymize_authors
    # Widened blocks longer than this fall back to a smaller block or to the hunk itself.
    max_block_lines: int = 80
    # classify_for_index instead of the seed's classify_message: also the fixes without the
    # seed's keywords ("prevent ...", "crash when ..."). `index` sets it; `extract` keeps the
    # seed's rules.
    extended_classifier: bool = False


@dataclass(frozen=True)
class MinedCommit:
    hexsha: str
    patterns: list[Pattern]  # empty for skipped commits (unknown, merge...)
    classification: Classification | None = None  # why it was mined; None when skipped
    # The commits this one reverts ("This reverts commit <sha>."), skipped commits too
    # (a revert is classified unknown); reverted_subject: `Revert "<subject>"`'s subject.
    reverts: tuple[str, ...] = ()
    reverted_subject: str | None = None


def check_repository(repo_path: Path) -> None:
    """RepositoryError with one clear line unless `repo_path` is a git repository."""
    if not repo_path.exists():
        raise RepositoryError(f"{repo_path}: no such directory")
    if not repo_path.is_dir():
        raise RepositoryError(f"{repo_path}: not a directory")
    try:
        run_git(repo_path, ["rev-parse", "--git-dir"])
    except RepositoryError as error:
        if "not a git repository" in str(error):
            raise RepositoryError(f"{repo_path}: not a git repository") from None
        raise  # git's own reason, e.g. a repository owned by another user


def head_commit(repo_path: Path) -> str | None:
    """The commit HEAD points at; None for a repository without commits (its branch does
    not exist yet); RepositoryError if HEAD points at something that is not there."""
    check_repository(repo_path)
    code, out = run_git(repo_path, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
    if code == 0 and out:
        return out
    code, branch = run_git(repo_path, ["symbolic-ref", "-q", "HEAD"], check=False)
    if code == 0 and branch:
        # Exit 1: no such ref (a branch without commits); 128: the ref is there but broken.
        code, _ = run_git(repo_path, ["show-ref", "--verify", "-q", branch], check=False)
        if code == 1:
            return None
    raise RepositoryError(
        f"{repo_path}: HEAD does not point at a commit; the repository may be damaged "
        "(`git fsck` says more)"
    )


def mine_commits(
    repo_path: Path,
    options: MineOptions,
    *,
    since_commit: str | None = None,
    progress: Progress | None = None,
) -> Iterator[MinedCommit]:
    """One MinedCommit per commit read, oldest first (parents before children), skipped
    commits included so that a caller can checkpoint after each. `since_commit`: only the
    commits after it, unless it is no longer an ancestor of HEAD (then all of them)."""
    repo_path = Path(repo_path)
    head = head_commit(repo_path)
    if head is None:
        raise RepositoryError(f"{repo_path}: the repository has no commits yet")
    rev_range = head
    if since_commit:
        code, _ = run_git(
            repo_path, ["merge-base", "--is-ancestor", since_commit, head], check=False
        )
        if code == 0:
            rev_range = f"{since_commit}..{head}"
    since_epoch = _epoch(options.since_date) if options.since_date else None
    total = count_commits(repo_path, rev_range) if progress else 0
    if progress:
        progress(0, total)
    decisions: dict[str, Classification] = {}
    classify = classify_for_index if options.extended_classifier else classify_message

    def want_diff(header: CommitHeader) -> bool:
        # --since-date is on the author date (git's own --since is on the committer date).
        if header.is_merge or (since_epoch is not None and header.author_time < since_epoch):
            return False
        decision = classify(header.message)
        if decision.problem_type is ProblemType.UNKNOWN and not options.include_unknown:
            return False
        decisions[header.hexsha] = decision
        return True

    log = stream_log(
        repo_path,
        rev_range,
        want_diff=want_diff,
        max_hunk_lines=options.max_hunk_lines,
    )
    # Both git processes end with the caller's loop, even one that stops early.
    with BlobStream(repo_path) as blobs, contextlib.closing(log):
        # A window of commits read ahead, their blobs asked for: git reads the blobs while
        # we widen and score the commits before them.
        window: deque[_Planned] = deque()
        done = 0
        for commit in log:
            window.append(_Planned.ask(commit, decisions.pop(commit.header.hexsha, None), blobs))
            while len(window) > _WINDOW_COMMITS or blobs.pending > _WINDOW_BLOBS:
                done += 1
                yield window.popleft().finish(blobs, options)
                if progress:
                    progress(done, max(total, done))
        while window:
            done += 1
            yield window.popleft().finish(blobs, options)
            if progress:
                progress(done, max(total, done))


_WINDOW_COMMITS = 64
_WINDOW_BLOBS = 256


@dataclass(frozen=True, slots=True)
class _Planned:
    """A commit read from the log whose blobs have been asked for."""

    commit: LogCommit
    decision: Classification | None
    changes: list[FileChange]

    @classmethod
    def ask(cls, commit: LogCommit, decision: Classification | None, blobs: BlobStream) -> _Planned:
        changes = [c for c in commit.files if FileSides.wanted(c)] if decision else []
        blobs.ask([blob for change in changes for blob in FileSides.blob_ids(change)])
        return cls(commit, decision, changes)

    def finish(self, blobs: BlobStream, options: MineOptions) -> MinedCommit:
        header = self.commit.header
        patterns = (
            _patterns(header, self.changes, self.decision, blobs, options)
            if self.decision is not None
            else []
        )
        return MinedCommit(
            header.hexsha,
            patterns,
            classification=self.decision,
            reverts=reverted_commits(header.message),
            reverted_subject=reverted_subject(header.message),
        )


def _epoch(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp())


def _patterns(
    header: CommitHeader,
    changes: list[FileChange],
    decision: Classification,
    blobs: BlobStream,
    options: MineOptions,
) -> list[Pattern]:
    message = scrub_text(header.message).text
    author = header.author_email
    if options.anonymize_authors:
        author = pseudonym(author)
        message = anonymize_emails(message)
    date = datetime.datetime.fromtimestamp(header.author_time, datetime.UTC).strftime(DATE_FORMAT)
    patterns: list[Pattern] = []
    for change in changes:
        sides = FileSides.open(change, blobs)
        if sides is None:
            continue
        merged: list[HunkChange] = []
        for hunk in change.hunks:
            widened = read_hunk(hunk, sides, options.max_block_lines)
            if widened is None:
                continue
            # A union can reach back over earlier patterns too (a later hunk widened to the
            # function that holds them): merge until no two neighbours share lines.
            while merged and merged[-1].overlaps(widened):
                widened = merged.pop().merge(widened, sides)
            merged.append(widened)
        for item in merged:
            before = scrub_text(item.before_code).text
            after = scrub_text(item.after_code).text
            patterns.append(
                Pattern(
                    pattern_id=make_pattern_id(header.hexsha, change.path, item.hunk_key),
                    problem_type=decision.problem_type,
                    before_code=before,
                    after_code=after,
                    commit_msg=message,
                    author=author,
                    date=date,
                    confidence=item.confidence(decision, before, after),
                    commit=header.hexsha,
                    file_path=change.path,
                    language=sides.language,
                    before_lines=_line_range(item.before_range),
                    after_lines=_line_range(item.after_range),
                )
            )
    return patterns


def _line_range(span: tuple[int, int] | None) -> LineRange | None:
    return LineRange(*span) if span else None
