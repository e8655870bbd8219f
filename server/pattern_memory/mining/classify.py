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


# --- The extended rules of `index` ----------------------------------------------------------
# `extract` and the seed's JSONL keep classify_message. The local store also learns the fixes
# whose messages lack the seed's keywords ("prevent ...", "don't allow ...", "crash when ..."),
# each with a reason naming the rule that found it, and leaves out what only looks like a fix
# ("Fix typo in README"). Which words made it, and which were measured and dropped: README
# ("Mining git history") and docs/benchmarks.md ("Commit classifier").


def _words(*patterns: str) -> re.Pattern[str]:
    """Whole words of prose, any case. Unlike the seed's keywords, "_" joins a word here:
    `ensure_sync` and `disallow_untyped_defs` are identifiers, not intent."""
    return re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(patterns) + r")(?![A-Za-z0-9_])", re.IGNORECASE
    )


# What a subject says the change mends, without the word "fix".
_FIX_INTENT = _words(
    r"prevent(?:s|ed|ing)?",
    r"disallow(?:s|ed|ing)?",
    r"(?:don'?t|do\s+not|does\s+not|doesn'?t)\s+allow",
    r"handl(?:e|es|ed)",  # the verb: "handling" names a topic ("Refactor metadata handling")
    r"correct(?:ly|s|ed|ing)?",
    r"properly",
    r"should\s+not",
    r"shouldn'?t",
    r"ensure(?:s|d)?",
    r"robust(?:ly|ness)?",
)
# What a subject says went wrong.
_FAILURE = _words(
    r"crash(?:es|ed|ing)?",
    r"regression(?:s)?(?!\s+tests?)",  # "Add regression test" adds a test
    r"incorrect(?:ly)?",
    r"wrong(?:ly)?",
    r"deadlock(?:s|ed)?",
    r"race\s+condition(?:s)?",
    r"infinite\s+loop",
    r"segfault(?:s|ed)?",
    r"memory\s+leak(?:s)?",
)
_SECURITY = _words(
    r"CVE-\d{4}-\d+",
    r"vulnerab(?:le|ility|ilities)",
    r"XSS",
    r"CSRF",
    r"(?:path|directory)\s+traversal",
    r"open\s+redirect",
    r"denial\s+of\s+service",
    r"ReDoS",
    r"sandbox\s+escape",
)
_SECURITY_PREFIX = re.compile(r"^\s*\[?SECURITY\]?:?\s", re.IGNORECASE)  # "SECURITY: ..."
_TYPO = _words(r"typos?")
# A subject about prose: its fix mends documentation, comments or wording, not code.
_DOCS_TARGET = _words(
    r"docs?",
    r"documentation",
    r"readme",
    r"comments?",
    r"docstrings?",
    r"changelog",
    r"grammar",
    r"grammatical",
    r"wording",
    r"spelling",
    r"misspell(?:ed|ing|ings)?",
    r"rst",
    r"hyperlinks?",
    r"quickstart",
    r"tutorial",
)
_SQUASHED_COMMIT_LINE = re.compile(r"(?m)^\* .*$")
# ... unless it names a failure of code ("Fix crash when a docstring is empty").
_CODE_FAILURE = _words(r"crash(?:es|ed|ing)?", r"exceptions?", r"errors?", r"traceback")


def classify_for_index(message: str) -> Classification:
    """classify_message, widened for the local store (README, "Mining git history").

    The seed's decision stands for reverts, Conventional Commits types and dependency
    updates. Otherwise, on the subject line: a fix of prose (typo, wording, docs, comments)
    is not a code fix ("docs change"); a typo fix elsewhere is learned with the reason
    "typo", so that it can be told apart; a seed bug-fix decision stands; then security,
    failure and fix-intent words decide bug_fix, unless a feature keyword came first in the
    subject (the seed's feature decision stands).
    """
    subject, _, body = message.strip().partition("\n")
    if _REVERT.match(subject) or _DEPENDENCY_UPDATE.match(subject):
        return classify_message(message)
    # A squash merge lists the pull request's own commits as "* ..." lines in its body; their
    # "fix coverage", "fix typo" mend the pull request, not the product.
    seed = classify_message(subject + "\n" + _SQUASHED_COMMIT_LINE.sub("", body))
    conventional = _CONVENTIONAL.match(subject)
    if conventional and conventional.group(1).lower() in _CONVENTIONAL_TYPES:
        return seed
    typo = _TYPO.search(subject)
    prose = _DOCS_TARGET.search(subject)
    claims_fix = typo is not None or seed.problem_type is ProblemType.BUG_FIX
    if prose and claims_fix and not _CODE_FAILURE.search(subject):
        return Classification(ProblemType.UNKNOWN, False, f"docs change {_quote(prose)} in subject")
    if typo:
        return Classification(ProblemType.BUG_FIX, False, "typo")
    if seed.problem_type is ProblemType.BUG_FIX or (
        seed.problem_type is ProblemType.FEATURE_ADDITION and seed.clear
    ):
        return seed
    if _SECURITY_PREFIX.match(subject):
        return Classification(ProblemType.BUG_FIX, False, "security 'security:' in subject")
    for pattern, family in (
        (_SECURITY, "security"),
        (_FAILURE, "failure"),
        (_FIX_INTENT, "fix intent"),
    ):
        match = pattern.search(subject)
        if match:
            return Classification(
                ProblemType.BUG_FIX, False, f"{family} {_quote(match)} in subject"
            )
    return seed


def _quote(match: re.Match[str]) -> str:
    """The matched words, lower case, in single quotes whatever they hold ("don't allow")."""
    return "'" + " ".join(match.group(1).lower().split()) + "'"


def rule_family(classification: Classification) -> str:
    """The rule that decided, without its word: "keyword", "fix intent", "typo"..."""
    return classification.reason.partition(" '")[0]


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
