"""The hover's Markdown: commit text shown as written, the diff in a fence nothing closes."""

from __future__ import annotations

from pattern_memory.lsp.convert import pattern_markdown
from pattern_memory.memory.types import Lifecycle, StoredPattern
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id


def _stored(message: str, before: str, after: str, uses: int = 0) -> StoredPattern:
    pattern = Pattern(
        pattern_id=make_pattern_id(message),
        problem_type=ProblemType.BUG_FIX,
        before_code=before,
        after_code=after,
        commit_msg=message,
        author="Dev <dev@example.com>",
        date="2024-05-01 10:00:00",
        confidence=0.8,
        language="python",
    )
    return StoredPattern(
        pattern, "local", Lifecycle(uses, 0, uses, None, "2024-05-01 10:00:00", False)
    )


def test_commit_text_is_escaped_and_the_diff_fence_cannot_be_closed() -> None:
    message = "fix: __init__ takes *args\n# not a heading\n```"
    before = 'doc = """\n```\n"""\n'
    after = 'doc = """\n````\n"""\n'
    markdown = pattern_markdown(_stored(message, before, after))
    assert "fix: \\_\\_init\\_\\_ takes \\*args" in markdown
    assert "\\# not a heading" in markdown and "\\`\\`\\`" in markdown
    # The diff's fence is longer than the code's longest backtick run (4): 5 backticks,
    # opening with the language and closing on the diff's last line.
    lines = markdown.split("\n")
    opening = lines.index("`````diff")
    assert lines[-1] == "`````" and "+````" in lines[opening + 1 : -1]
    assert not any(line.startswith("`````") for line in lines[opening + 1 : -1])


def test_a_pattern_without_uses_shows_its_prior() -> None:
    unused = pattern_markdown(_stored("fix: x", "a = 1\n", "a = 2\n"))
    assert "no uses yet (prior 80%)" in unused and "over 0 uses" not in unused
    used = pattern_markdown(_stored("fix: x", "a = 1\n", "a = 2\n", uses=3))
    assert "over 3 uses" in used
