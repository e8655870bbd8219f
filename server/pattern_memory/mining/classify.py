"""Commit message -> problem type, by the seed's keywords.

Rules, in order (the README's "Mining git history" section says the same):
1. A Conventional Commits type on the subject line decides: `fix`, `bugfix`, `hotfix` ->
   bug_fix; `feat`, `feature` -> feature_addition; any other standard type (`docs`, `chore`,
   `refactor`, `test`, `style`, `ci`, `build`, `perf`, `revert`) -> unknown, whatever the
   words say. A scope and a `!` are allowed: `feat(cli)!: ...`.
2. Otherwise the first keyword on the subject line decides; failing that, the first keyword
   in the body. Keywords are whole words (and their inflections), case-insensitive:
   "fixes", "fixed" and "hot-fix" count, "prefix", "address" and "padding" do not.
3. No keyword: unknown. A `git revert` subject (`Revert "..."`) is unknown too, and trailer
   lines (`Signed-off-by:`, `Co-authored-by:`...) are not searched.
4. A dependency update's body is not searched: its subject is a bot's (`Bump x from 1 to 2`,
   `Bump the pip group ...`, `Update dependency x to v2`, `Update x requirement from ...`,
   `[Snyk] Upgrade ...`, `[pre-commit.ci] ...`) and its body quotes the dependency's release
   notes, whose "Fixed ..." and "Added ..." describe someone else's code.

A keyword is *clear* (the confidence bonus) when it decided the type from the subject line
or a Conventional Commits type; a keyword found only in the body is not clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..patterns import ProblemType

BUG_FIX_WORDS = (
    "fix", "fixes", "fixed", "fixing", "bugfix", "bugfixes", "bug", "bugs",
    "hotfix", "hotfixes", "hotfixed", "patch", "patches", "patched", "patching",
    "resolve", "resolves", "resolved", "resolving",
)  # fmt: skip
FEATURE_WORDS = (
    "feat", "add", "adds", "added", "adding",
    "implement", "implements", "implemented", "implementing", "implementation",
    "enhance", "enhances", "enhanced", "enhancing", "enhancement", "enhancements",
)  # fmt: skip

_OTHER_CONVENTIONAL_TYPES = (
    "docs", "doc", "chore", "refactor", "test", "tests", "style", "ci", "build", "perf",
    "revert",
)  # fmt: skip
_CONVENTIONAL_TYPES = {
    "fix": ProblemType.BUG_FIX,
    "bugfix": ProblemType.BUG_FIX,
    "hotfix": ProblemType.BUG_FIX,
    "feat": ProblemType.FEATURE_ADDITION,
    "feature": ProblemType.FEATURE_ADDITION,
    **dict.fromkeys(_OTHER_CONVENTIONAL_TYPES, ProblemType.UNKNOWN),
}
_CONVENTIONAL = re.compile(r"^\s*([A-Za-z]+)(?:\([^)\n]*\))?!?:\s")
# Letters and digits bound a word; "_" and "-" separate words ("hot-fix", "bug_fix").
_KEYWORD = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join(BUG_FIX_WORDS + FEATURE_WORDS) + r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_BUG_FIX_SET = frozenset(BUG_FIX_WORDS)
# `git revert`'s subject: undoing a change is neither a fix nor a feature by itself.
_REVERT = re.compile(r'^\s*Revert\s+"')
# Subjects of dependency updates (Dependabot, Renovate, Snyk, pre-commit.ci).
_DEPENDENCY_UPDATE = re.compile(
    r"^\s*(?:Bumps?\s+\S+\s+from\s+\S+\s+to\s|Bump\s+the\s+\S+\s+group\b"
    r"|(?:Update|Upgrade)\s+(?:dependency|dependencies|module|\S+\s+requirement)\s"
    r"|\[Snyk\]|\[pre-commit\.ci\])",
    re.IGNORECASE,
)
# Trailer lines (Signed-off-by:, Co-authored-by:, Reviewed-by:, Change-Id: ...) name people
# and ids, not the change.
_TRAILER = re.compile(r"(?m)^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+:\s.*$|^Change-Id:.*$")


@dataclass(frozen=True, slots=True)
class Classification:
    problem_type: ProblemType
    clear: bool  # decided by the subject line or a Conventional Commits type
    reason: str  # e.g. "conventional type 'fix'", "keyword 'fixes' in subject"


def classify_message(message: str) -> Classification:
    subject, _, body = message.strip().partition("\n")
    if _REVERT.match(subject):
        return Classification(ProblemType.UNKNOWN, False, "revert")
    body = _TRAILER.sub("", body)  # "Co-authored-by: Patch Adams" is not a patch
    if _DEPENDENCY_UPDATE.match(subject):
        body = ""  # release notes of the dependency, not this change
    conventional = _CONVENTIONAL.match(subject)
    if conventional:
        kind = conventional.group(1).lower()
        if kind in _CONVENTIONAL_TYPES:
            problem = _CONVENTIONAL_TYPES[kind]
            return Classification(
                problem, problem is not ProblemType.UNKNOWN, f"conventional type {kind!r}"
            )
    for text, where, clear in ((subject, "subject", True), (body, "body", False)):
        match = _KEYWORD.search(text)
        if match:
            word = match.group(1).lower()
            problem = ProblemType.BUG_FIX if word in _BUG_FIX_SET else ProblemType.FEATURE_ADDITION
            return Classification(problem, clear, f"keyword {word!r} in {where}")
    return Classification(ProblemType.UNKNOWN, False, "no keyword")


BASE_CONFIDENCE = 0.5
CLEAR_BUG_FIX_BONUS = 0.2
CLEAR_FEATURE_BONUS = 0.15
BOTH_SIDES_BONUS = 0.15
CHANGE_OVER_100_BONUS = 0.1
CHANGE_OVER_500_BONUS = 0.1


def confidence(
    classification: Classification, before_code: str, after_code: str, change_size: int
) -> float:
    """The seed's score. `change_size`: characters on the hunk's removed and added lines
    (without the +/- markers and line ends); "both present": neither side is blank."""
    score = BASE_CONFIDENCE
    if classification.clear and classification.problem_type is ProblemType.BUG_FIX:
        score += CLEAR_BUG_FIX_BONUS
    if classification.clear and classification.problem_type is ProblemType.FEATURE_ADDITION:
        score += CLEAR_FEATURE_BONUS
    if before_code.strip() and after_code.strip():
        score += BOTH_SIDES_BONUS
    if change_size > 100:
        score += CHANGE_OVER_100_BONUS
    if change_size > 500:
        score += CHANGE_OVER_500_BONUS
    return round(min(score, 1.0), 2)
