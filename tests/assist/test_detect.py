"""The forge detector: the seed's two fix shapes and their close variants are found, with the
right problem and solution; ordinary prose about fixes is not."""

from __future__ import annotations

import pytest

from pattern_memory.assist.detect import MAX_SCANNED_CHARS
from pattern_memory.assist.forge import DetectedFix, detect_fixes


def only(response: str, request: str | None = None) -> DetectedFix:
    fixes = detect_fixes(response, request)
    assert len(fixes) == 1, fixes
    return fixes[0]


@pytest.mark.parametrize(
    ("response", "problem", "solution"),
    [
        # The seed's first form and its tenses / nouns.
        (
            "The issue was a stale cache key, the fix is to include the locale in the key.",
            "a stale cache key",
            "include the locale in the key",
        ),
        (
            "the bug was an off-by-one in the pagination loop, the solution is `range(n)`.",
            "an off-by-one in the pagination loop",
            "`range(n)`",
        ),
        (
            "The problem is that `timeout` is in milliseconds. The fix is dividing it by 1000.",
            "`timeout` is in milliseconds",
            "dividing it by 1000",
        ),
        (
            "The root cause was a missing await on `session.commit()`; "
            "the fix was to await it in the handler.",
            "a missing await on `session.commit()`",
            "await it in the handler",
        ),
        (
            "The error is a circular import between models and views -- "
            "the workaround is moving the import into the function.",
            "a circular import between models and views",
            "moving the import into the function",
        ),
        (
            "**The problem** was that the retry loop never slept, **the fix** is an "
            "exponential backoff.",
            "the retry loop never slept",
            "an exponential backoff",
        ),
        # "fixed by" variants, anchored to a stated problem.
        (
            "The bug was a race between the two writers; we fixed it by taking the lock first.",
            "a race between the two writers",
            "taking the lock first",
        ),
        (
            "The issue was an unescaped quote in the query, and it can be fixed by using "
            "bound parameters.",
            "an unescaped quote in the query",
            "using bound parameters",
        ),
        (
            "The problem is that the session is never closed. You can fix it by using the "
            "session as a context manager.",
            "the session is never closed",
            "using the session as a context manager",
        ),
        # The seed's second form and its variants.
        (
            "To fix the encoding error, decode the bytes as UTF-8 before parsing.",
            "the encoding error",
            "decode the bytes as UTF-8 before parsing",
        ),
        (
            "To resolve the deadlock in `worker.run`, do the I/O outside the lock.",
            "the deadlock in `worker.run`",
            "do the I/O outside the lock",
        ),
        (
            "Thanks for the logs. In order to solve the memory leak, you should close "
            "each cursor after use.",
            "the memory leak",
            "you should close each cursor after use",
        ),
        # One sentence between the problem and the fix.
        (
            "The root cause was a race in the cache warmer. It only shows under load. "
            "The fix was to take the lock before reading.",
            "a race in the cache warmer",
            "take the lock before reading",
        ),
        # Labelled lines, as assistants often format them.
        (
            "**Root cause:** the cache key ignored the locale.\n**Fix:** include the locale "
            "in the key.",
            "the cache key ignored the locale",
            "include the locale in the key",
        ),
        # "the fix for X is Y".
        (
            "The fix for the flaky login test is to freeze the clock with freezegun.",
            "the flaky login test",
            "freeze the clock with freezegun",
        ),
    ],
)
def test_fix_shapes_are_detected(response: str, problem: str, solution: str) -> None:
    fix = only(response)
    assert (fix.problem, fix.solution) == (problem, solution)
    assert solution in response[slice(*fix.span)]
    # Without code blocks the texts stand in for the code.
    assert (fix.before_code, fix.after_code) == (problem, solution)
    assert not fix.before_is_code and not fix.after_is_code


@pytest.mark.parametrize(
    "response",
    [
        "I will fix the tests later.",
        "Can you fix this issue?",
        "This release contains a fix for the memory leak and several new features.",
        "The issue was closed, the solution is pending.",
        "The fix is merged into main.",
        "The fix for the login bug was merged yesterday.",
        "The problem was really hard, the solution is quite elegant.",
        "The problem is that I can't reproduce it, so the solution is not clear yet.",
        "If the bug was in the parser, the fix is to update the grammar.",
        "I'm not sure whether the problem is the cache, the fix might be elsewhere.",
        "Was the problem that the file was missing, or is the fix to retry?",
        "To fix this, we need more information about your setup.",
        "I want to fix the login bug, can you help?",
        "We should fix the bug, the solution is probably in the parser.",
        "Bug fixes and solutions are tracked in the issue tracker.",
        "```python\n# The bug was a typo, the fix is to rename it.\nx = 1\n```",
        "The bug is in the parser. I'll look into it tomorrow. The fix is probably small.",
        "The bug was reported twice. Nobody has looked. Then we shipped. The fix is to add "
        "a retry.",  # two sentences between: too far apart to be one statement
        "Problem: none\nFix: none",
        "Solution: use a cache.\nProblem: the API is slow.",  # wrong order
        # The answer about itself, asking for more input, or advice in general.
        "The problem is that I don't have enough information, the solution is to share more logs.",
        "The problem is that there is not enough context; the fix is to provide more details.",
        "To fix bugs faster, use a debugger.",
        "To fix issues quickly, write a failing test first.",
    ],
)
def test_ordinary_prose_is_not_a_fix(response: str) -> None:
    assert detect_fixes(response) == []


def test_a_pronoun_problem_takes_the_request() -> None:
    response = "To fix this, wrap the call in a try/except block."
    assert detect_fixes(response) == []  # "this" alone says nothing
    fix = only(response, request="requests.get raises ConnectionError when offline")
    assert fix.problem == "requests.get raises ConnectionError when offline"
    assert fix.solution == "wrap the call in a try/except block"


def test_code_blocks_around_the_statement_become_before_and_after() -> None:
    response = (
        "The problem was that the loop read one element past the end:\n\n"
        "```python\nfor i in range(len(items) + 1):\n    total += items[i]\n```\n\n"
        "The fix is to iterate over the items directly:\n\n"
        "```python\nfor item in items:\n    total += item\n```\n"
    )
    fix = only(response)
    assert fix.problem == "the loop read one element past the end"
    assert fix.solution == "iterate over the items directly"
    assert fix.before_code == "for i in range(len(items) + 1):\n    total += items[i]"
    assert fix.after_code == "for item in items:\n    total += item"
    assert fix.paired_code and fix.language == "python"


def test_a_labelled_before_after_pair_after_the_statement() -> None:
    response = (
        "The problem is that the handler swallows errors. The fix is to re-raise after "
        "logging.\n\nBefore:\n```python\nexcept Exception:\n    log.error('failed')\n```\n"
        "After:\n```python\nexcept Exception:\n    log.error('failed')\n    raise\n```\n"
    )
    fix = only(response)
    assert fix.before_code == "except Exception:\n    log.error('failed')"
    assert fix.after_code.endswith("    raise")
    assert fix.paired_code


def test_one_block_after_the_solution_is_the_after_code() -> None:
    response = (
        "The bug is that `parse()` returns None for empty input, and the fix is simple:\n"
        "```py\nreturn parse(text) or {}\n```\n"
    )
    fix = only(response)
    assert fix.problem == "`parse()` returns None for empty input"
    assert fix.solution == fix.after_code == "return parse(text) or {}"
    assert fix.before_code == fix.problem
    assert fix.after_is_code and not fix.before_is_code and fix.language == "py"


def test_labelled_lines_with_code_blocks() -> None:
    response = (
        "Problem: `parse()` returns None for empty input\n\n"
        "```py\nreturn parse(text)\n```\n\nSolution:\n```py\nreturn parse(text) or {}\n```\n"
    )
    fix = only(response)
    assert fix.form == "labelled"
    assert fix.problem == "`parse()` returns None for empty input"
    assert (fix.before_code, fix.after_code) == ("return parse(text)", "return parse(text) or {}")
    assert fix.solution == fix.after_code and fix.paired_code


def test_heres_the_fix_takes_the_code_that_follows() -> None:
    response = (
        "The issue is that `fetch` swallows HTTP errors. Here's the fix:\n\n"
        "```python\nresponse = client.get(url)\nresponse.raise_for_status()\n```\n"
    )
    fix = only(response)
    assert fix.form == "problem-then-code"
    assert fix.problem == "`fetch` swallows HTTP errors"
    assert (
        fix.solution == fix.after_code == "response = client.get(url)\nresponse.raise_for_status()"
    )
    assert fix.after_is_code and not fix.before_is_code
    # Without code after it, "here's the fix" states nothing.
    assert detect_fixes("The issue is that `fetch` swallows HTTP errors. Here's the fix.") == []


def test_unlabelled_blocks_are_not_guessed_into_a_pair() -> None:
    response = (
        "The issue was a missing null check. The fix is to guard the lookup.\n"
        "```js\nconst user = users.get(id);\n```\n"
        "```js\nconst user = users.get(id) ?? anonymous;\n```\n"
    )
    fix = only(response)
    assert fix.before_code == "a missing null check"
    assert fix.after_code == "const user = users.get(id);"  # the block right after Y
    assert not fix.paired_code


def test_a_distant_block_is_not_attached() -> None:
    filler = "This paragraph talks about something else entirely. " * 6
    response = (
        "The issue was a stale lock file, the fix is to delete it on start.\n\n"
        f"{filler}\n\n```sh\nrm -rf /\n```\n"
    )
    fix = only(response)
    assert fix.after_code == "delete it on start"


def test_a_deferred_solution_without_code_is_not_a_fix() -> None:
    assert detect_fixes("The bug was a wrong default port, the fix is simple.") == []


def test_several_fixes_in_one_answer_each_keep_their_own_code() -> None:
    response = (
        "Two things. The first bug was that the port was a string; the fix is to cast it:\n"
        "```python\nport = int(port)\n```\n"
        "Second, to fix the timeout, pass seconds instead of milliseconds:\n"
        "```python\nclient.get(url, timeout=5)\n```\n"
    )
    first, second = detect_fixes(response)
    assert first.problem == "the port was a string" and first.after_code == "port = int(port)"
    assert second.problem == "the timeout"
    assert second.after_code == "client.get(url, timeout=5)"
    assert first.end <= second.start


def test_pathological_input_is_bounded() -> None:
    # Many problem openings and fix subjects in one endless sentence: the worst case for the
    # regexes. Only the first MAX_SCANNED_CHARS characters are read, and a statement must
    # fit in a sentence of bounded length, so this ends; spans stay within that prefix.
    flood = "the bug is a b c, the fix is " * 40_000
    fixes = detect_fixes(flood + "The issue was a stale key, the fix is to add the locale.")
    assert all(fix.end <= MAX_SCANNED_CHARS for fix in fixes)
    tail_fix = "The issue was a stale key, the fix is to add the locale."
    assert only("x " * 1000 + tail_fix).problem == "a stale key"
