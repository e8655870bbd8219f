"""SQL for reverts: which mined commits undo which (table reverts), and the reverted_by
state of the patterns they learned. Called inside the caller's transaction (store.py)."""

from __future__ import annotations

from dataclasses import dataclass

import apsw

from .db import bump_counter, row_values
from .vector_store import EVIDENCE_GENERATION


@dataclass(frozen=True)
class RevertRecord:
    """A mined commit that reverts others: by sha (`reverted`), else by subject."""

    commit: str
    reverted: tuple[str, ...]
    subject: str | None = None


def record_revert(c: apsw.Connection, user_id: str, repository: str, revert: RevertRecord) -> None:
    """`revert.commit` undoes the commits it names (full or abbreviated shas), or, without a
    sha, the latest commit of this repository whose subject is `revert.subject`. Their
    patterns get reverted_by; a revert of that revert clears it again."""
    revert_commit, subject = revert.commit, revert.subject
    targets = [_full_sha(c, user_id, sha) for sha in revert.reverted]
    if not targets and subject:
        rows = c.execute(
            "SELECT commit_sha FROM patterns WHERE user_id = ? AND repository = ? "
            "AND (commit_msg = ? OR substr(commit_msg, 1, ?) = ? || char(10)) "
            "ORDER BY date DESC LIMIT 1",
            (user_id, repository, subject, len(subject) + 1, subject),
        ).fetchall()
        targets = [str(row_values(r)[0]) for r in rows]
    for target in targets:
        if target == revert_commit:
            continue
        c.execute(
            "INSERT OR IGNORE INTO reverts (user_id, commit_sha, reverted_by) VALUES (?, ?, ?)",
            (user_id, target, revert_commit),
        )
        _apply_revert_state(c, user_id, target, set())


def effective_revert(c: apsw.Connection, user_id: str, sha: str) -> str | None:
    """The commit that reverts `sha` and is not itself reverted, if any."""
    return _effective_revert(c, user_id, sha, set())


def _full_sha(c: apsw.Connection, user_id: str, sha: str) -> str:
    sha = sha.lower()
    if len(sha) >= 40:
        return sha
    # Hex digits sort below 'g': every sha with this prefix is in [sha, sha + 'g').
    rows = c.execute(
        "SELECT DISTINCT commit_sha FROM patterns WHERE commit_sha >= ? AND commit_sha < ? "
        "AND user_id = ? LIMIT 2",
        (sha, sha + "g", user_id),
    ).fetchall()
    return str(row_values(rows[0])[0]) if len(rows) == 1 else sha


def _effective_revert(c: apsw.Connection, user_id: str, sha: str, visiting: set[str]) -> str | None:
    visiting = visiting | {sha}
    rows = c.execute(
        "SELECT reverted_by FROM reverts WHERE user_id = ? AND commit_sha = ? ORDER BY reverted_by",
        (user_id, sha),
    ).fetchall()
    for row in rows:
        by = str(row_values(row)[0])
        if by not in visiting and _effective_revert(c, user_id, by, visiting) is None:
            return by
    return None


def _apply_revert_state(c: apsw.Connection, user_id: str, sha: str, done: set[str]) -> None:
    """Set reverted_by on `sha`'s patterns, then on the commits `sha` itself reverts
    (whose state follows from whether `sha` is in effect)."""
    if sha in done:
        return
    done.add(sha)
    by = _effective_revert(c, user_id, sha, set())
    c.execute(
        "UPDATE patterns SET reverted_by = ? WHERE user_id = ? AND commit_sha = ? "
        "AND reverted_by IS NOT ?",
        (by, user_id, sha, by),
    )
    if c.changes():
        bump_counter(c, EVIDENCE_GENERATION)
    for row in c.execute(
        "SELECT commit_sha FROM reverts WHERE user_id = ? AND reverted_by = ?", (user_id, sha)
    ).fetchall():
        _apply_revert_state(c, user_id, str(row_values(row)[0]), done)
