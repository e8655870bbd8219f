"""The extended classifier of `index` (classify_for_index): the fixes the seed's keywords
miss, what only looks like a fix, and the seed's decisions it leaves alone."""

from __future__ import annotations

import pytest

from pattern_memory.mining.classify import (
    Classification,
    classify_for_index,
    classify_message,
    rule_family,
)
from pattern_memory.patterns import ProblemType

BUG = ProblemType.BUG_FIX
FEATURE = ProblemType.FEATURE_ADDITION
UNKNOWN = ProblemType.UNKNOWN


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        # The examples, and real-looking fixes that carry none of the seed's keywords.
        ("safe_join prevents windows special device names", "fix intent 'prevents' in subject"),
        ("don't allow timestamps from the future", "fix intent 'don't allow' in subject"),
        ("Do not allow empty names in the registry", "fix intent 'do not allow' in subject"),
        ("Disallow --user installs if user site is disabled", "fix intent 'disallow' in subject"),
        ("Handle missing COMP_WORDS in the completion script", "fix intent 'handle' in subject"),
        ("Correctly normalize relative paths for 'pip show'", "fix intent 'correctly' in subject"),
        ("Properly close the client in the async test", "fix intent 'properly' in subject"),
        ("Use the correct UseLine for the man page synopsis", "fix intent 'correct' in subject"),
        ("respond(204) should not have a body", "fix intent 'should not' in subject"),
        ("date string shouldn't infer a timezone", "fix intent 'shouldn't' in subject"),
        ("Ensure iter_bytes never yields empty chunks (#2068)", "fix intent 'ensure' in subject"),
        ("Make the glibc check more robust to vendor suffixes", "fix intent 'robust' in subject"),
        ("Don't crash on an invalid requirement marker", "failure 'crash' in subject"),
        ("Corrected a help option regression.", "failure 'regression' in subject"),
        ("New resolver incorrectly tries unneeded candidates", "failure 'incorrectly' in subject"),
        ("The tests monkeypatch the wrong attribute", "failure 'wrong' in subject"),
        ("Pool release could deadlock under load", "failure 'deadlock' in subject"),
        ("Prevent path traversal when installing wheels", "security 'path traversal' in subject"),
        ("Escape the title against XSS", "security 'xss' in subject"),
        ("Bound the header regex (CVE-2023-32681)", "security 'cve-2023-32681' in subject"),
        ("SECURITY: support sandboxing in format expressions", "security 'security:' in subject"),
    ],
)
def test_fixes_without_the_seeds_keywords(message: str, reason: str) -> None:
    assert classify_message(message).problem_type is UNKNOWN  # the seed misses them
    decision = classify_for_index(message)
    assert (decision.problem_type, decision.reason) == (BUG, reason)
    assert not decision.clear  # no seed keyword: no confidence bonus


@pytest.mark.parametrize(
    "message",
    [
        # Measured and left out (docs/benchmarks.md, "Commit classifier"): refactors read so.
        "use sha3-256 instead of sha-1",
        "Use pathlib.Path instead of os.path functions (#188)",
        "Avoid importing distutils globally",
        "Refactor metadata handling in InstallRequirement",
        "Add a failing test for explicit requirement extras",
        "Stop running nox on first error (#286)",
        "show env var in error hint (#2696)",
        "Update broken link to the streaming docs page",
        "Remove the security section from the issue chooser",
        "Add regression test for generic model pickling",
        "build: support Node.js 4.x\n\ncloses #2751",
        "Added array support. Closes #1053",
        # Identifiers are not prose.
        "set disallow_untyped_defs for pip._internal.wheel",
        "Alter ensure_sync implementation to support extensions",
        # Substrings, as for the seed.
        "Update prefix handling",
        "Change the address format",
    ],
)
def test_not_fixes(message: str) -> None:
    assert classify_for_index(message).problem_type is not BUG, classify_for_index(message)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Fix typo in README", "docs change 'readme' in subject"),
        ("Fix typos in comments (#294)", "docs change 'comments' in subject"),
        ("fix minor doc typo: 'pf' -> 'of'", "docs change 'doc' in subject"),
        ("Fixed incorrect grammar in Config.rst", "docs change 'grammar' in subject"),
        ("[svn] Fix a rst hyperlink.", "docs change 'rst' in subject"),
        ("Fix Command.Context comment (#1639)", "docs change 'comment' in subject"),
        ("Spelling fixes", "docs change 'spelling' in subject"),
    ],
)
def test_fixes_of_prose_are_not_code_fixes(message: str, reason: str) -> None:
    assert classify_message(message).problem_type is BUG  # the seed learns them
    assert classify_for_index(message) == Classification(UNKNOWN, False, reason)


def test_a_docs_subject_that_names_a_code_failure_stays_a_fix() -> None:
    decision = classify_for_index("Fix crash when a docstring is empty")
    assert (decision.problem_type, decision.reason) == (BUG, "keyword 'fix' in subject")


@pytest.mark.parametrize(
    "message",
    ["Fix typo in variable name", "Typo in auth example", "typo", "Correct typo: simple -> simply"],
)
def test_typo_fixes_are_learned_under_their_own_reason(message: str) -> None:
    # Learned (a typo in code can be a real bug), but told apart: the editor may ignore them.
    assert classify_for_index(message) == Classification(BUG, False, "typo")


def test_a_feature_keyword_first_in_the_subject_wins_over_fix_intent() -> None:
    # Mostly tests added for a fix, in the measured histories: the seed's decision stands.
    for message in (
        "Add test to ensure we don't regress",
        "Add check for WIN to prevent file in use error",
    ):
        assert classify_for_index(message) == classify_message(message)
        assert classify_for_index(message).problem_type is FEATURE


def test_fix_intent_beats_a_feature_word_found_only_in_the_body() -> None:
    message = (
        "Make have_compatible_glibc more robust against unusual version strings\n\n"
        "Downstream forks sometimes add junk onto the end of the version number."
    )
    assert classify_message(message).problem_type is FEATURE  # 'add' in the body
    assert classify_for_index(message).reason == "fix intent 'robust' in subject"


def test_a_squash_merges_commit_list_is_not_read() -> None:
    message = "Cleanup 183 (#187)\n\n* fix coverage\n* use change_exception\n* simplify"
    assert classify_message(message).problem_type is BUG  # 'fix' in the body
    assert classify_for_index(message).problem_type is UNKNOWN
    # ... while the body's prose still counts, and so does a subject written as a bullet.
    prose = "Rework the cache\n\nThis fixes #41.\n\n* tidy"
    assert classify_for_index(prose) == classify_message(prose)
    bullet = "* Fix crash on empty input\n\n* add a test"
    assert classify_for_index(bullet) == classify_message(bullet)
    assert classify_for_index(bullet).problem_type is BUG


@pytest.mark.parametrize(
    "message",
    [
        "Fix crash on empty input",
        "fixes #12: crash on empty input",
        "Add a --verbose flag",
        "fix: add a missing null check",
        "docs: fix typo in README",
        "refactor: prevent double parsing",  # a Conventional Commits type decides
        "chore(deps): handle the new lockfile",
        'Revert "Prevent crash on empty input"',
        "Bump pyyaml from 5.4 to 6.0\n\nBumps pyyaml.\n- Fixed a crash",
        "Rework the cache\n\nThis fixes #41.",
        "Rework the cache\n\nNo behaviour change.",
    ],
)
def test_the_seeds_decisions_it_keeps(message: str) -> None:
    assert classify_for_index(message) == classify_message(message)


@pytest.mark.parametrize(
    ("message", "family"),
    [
        ("Fix crash on empty input", "keyword"),
        ("Add a --verbose flag", "keyword"),
        ("fix: add a missing null check", "conventional type"),
        ("don't allow timestamps from the future", "fix intent"),
        ("Don't crash on an invalid marker", "failure"),
        ("Prevent open redirect in res.redirect", "security"),
        ("Fix typo in variable name", "typo"),
        ("Fix typo in README", "docs change"),
        ("Rework the cache", "no keyword"),
    ],
)
def test_rule_family_names_the_rule_without_its_word(message: str, family: str) -> None:
    assert rule_family(classify_for_index(message)) == family
