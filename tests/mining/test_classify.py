from __future__ import annotations

import pytest

from pattern_memory.mining.classify import Classification, classify_message, confidence
from pattern_memory.patterns import ProblemType

BUG = ProblemType.BUG_FIX
FEATURE = ProblemType.FEATURE_ADDITION
UNKNOWN = ProblemType.UNKNOWN


@pytest.mark.parametrize(
    ("message", "expected", "clear"),
    [
        ("Fix crash on empty input", BUG, True),
        ("fixes #12: crash on empty input", BUG, True),
        ("Fixed the parser", BUG, True),
        ("Hotfix for release", BUG, True),
        ("hot-fix for release", BUG, True),
        ("Patched the tokenizer", BUG, True),
        ("Resolves the encoding issue", BUG, True),
        ("Squash a bug in the lexer", BUG, True),
        ("Add a --verbose flag", FEATURE, True),
        ("Added support for TOML", FEATURE, True),
        ("Implement streaming reads", FEATURE, True),
        ("Enhanced error messages", FEATURE, True),
        # Substrings are not keywords.
        ("Update prefix handling", UNKNOWN, False),
        ("Change the address format", UNKNOWN, False),
        ("Remove padding from the table", UNKNOWN, False),
        ("Debugging output tweaks", UNKNOWN, False),
        ("Adder class renamed", UNKNOWN, False),
        # Conventional Commits types win over words.
        ("fix: add a missing null check", BUG, True),
        ("feat(cli)!: fix the flag order by adding a new parser", FEATURE, True),
        ("feat!: drop Python 3.8", FEATURE, True),
        ("docs: fix typo in README", UNKNOWN, False),
        ("chore(deps): add pytest", UNKNOWN, False),
        # A dependency update's body quotes the dependency's release notes.
        (
            "Bump pyyaml from 5.4 to 6.0\n\nBumps pyyaml.\n- Fixed a crash\n- Added x",
            UNKNOWN,
            False,
        ),
        ("Bump the pip group across 1 directory with 2 updates\n\nfixes #3", UNKNOWN, False),
        ("Update dependency eslint to v9\n\nBug fixes", UNKNOWN, False),
        ("Update requests requirement from <2 to <3\n\nFix", UNKNOWN, False),
        ("[Snyk] Upgrade lodash from 4.17.20 to 4.17.21\n\nfixes vulnerability", UNKNOWN, False),
        ("[pre-commit.ci] pre-commit autoupdate\n\nupdates: fix-hooks", UNKNOWN, False),
        # ... but a person's subject still decides, and "Bump version" has a body to read.
        ("Bump version, fix the release script", BUG, True),
        ("Bump version\n\nFixes the changelog date", BUG, False),
        ("refactor: resolve names lazily", UNKNOWN, False),
        # Not a Conventional Commits type: the words decide.
        ("parser: fix the lexer", BUG, True),
        # The first keyword of the subject decides.
        ("Fix crash when adding items", BUG, True),
        ("Add retries and fix the timeout", FEATURE, True),
        # Body only: classified, but not clear.
        ("Rework the cache\n\nThis fixes #41.", BUG, False),
        ("Rework the cache\n\nImplements the LRU policy.", FEATURE, False),
        ("Rework the cache\n\nNo behaviour change.", UNKNOWN, False),
        # Reverts and trailers.
        ('Revert "Add a --verbose flag"\n\nThis reverts commit abc.', UNKNOWN, False),
        ("Rework the cache\n\nCo-authored-by: Patch Adams <p@example.com>", UNKNOWN, False),
        ("Rework the cache\n\nSigned-off-by: Bug Hunter <b@example.com>", UNKNOWN, False),
        ("Rework the cache\n\nFixes #3\n\nSigned-off-by: A <a@example.com>", BUG, False),
    ],
)
def test_classification(message: str, expected: ProblemType, clear: bool) -> None:
    result = classify_message(message)
    assert (result.problem_type, result.clear) == (expected, clear), result.reason


def test_subject_keyword_beats_body_keyword() -> None:
    assert classify_message("Add caching\n\nAlso fixes #3").problem_type is FEATURE
    assert classify_message("Tidy up\n\nAdds docs, fixes #3").problem_type is FEATURE


CLEAR_BUG = Classification(BUG, True, "")
CLEAR_FEATURE = Classification(FEATURE, True, "")
BODY_BUG = Classification(BUG, False, "")


@pytest.mark.parametrize(
    ("decision", "before", "after", "size", "expected"),
    [
        (BODY_BUG, "", "x = 1", 5, 0.5),  # base only
        (CLEAR_BUG, "", "x = 1", 5, 0.7),  # + clear bug-fix keyword
        (CLEAR_FEATURE, "", "x = 1", 5, 0.65),  # + clear feature keyword
        (BODY_BUG, "x = 0", "x = 1", 5, 0.65),  # + both sides present
        (BODY_BUG, "   \n", "x = 1", 5, 0.5),  # a blank side is not present
        (BODY_BUG, "", "x", 100, 0.5),  # exactly 100 is not > 100
        (BODY_BUG, "", "x", 101, 0.6),  # + change > 100 chars
        (BODY_BUG, "", "x", 500, 0.6),
        (BODY_BUG, "", "x", 501, 0.7),  # + change > 500 chars
        (CLEAR_BUG, "a", "b", 501, 1.0),  # 0.5+0.2+0.15+0.1+0.1 = 1.05, capped
        (CLEAR_FEATURE, "a", "b", 501, 1.0),  # 1.0 exactly
        (CLEAR_FEATURE, "a", "b", 101, 0.9),
        (CLEAR_BUG, "a", "b", 101, 0.95),
    ],
)
def test_confidence_terms(
    decision: Classification, before: str, after: str, size: int, expected: float
) -> None:
    assert confidence(decision, before, after, size) == expected
