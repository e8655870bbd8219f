"""forge_patterns against the real memory: a stated fix becomes a forged bug-fix pattern,
scrubbed, found again through the request it answered; known fixes are not forged twice;
`forgeOnSuccess: false` forges nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pattern_memory.assist.forge import forge_patterns
from pattern_memory.memory.metrics import FORGED
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import DATE_FORMAT, PatternSource, ProblemType

OpenMemory = Callable[..., PatternMemory]

REQUEST = "Why does my monthly report crash for customers who never ordered anything?"
ANSWER = (
    "The problem was that the average divides by the number of orders, which is zero for "
    "a new customer:\n\n"
    "```python\naverage = sum(o.total for o in orders) / len(orders)\n```\n\n"
    "The fix is to return zero when there are no orders:\n\n"
    "```python\naverage = sum(o.total for o in orders) / len(orders) if orders else 0.0\n```\n"
)


def test_a_stated_fix_is_forged_and_found_by_its_request(open_memory: OpenMemory) -> None:
    memory = open_memory(userId="alice")
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    (pattern_id,) = forge_patterns(memory, ANSWER, REQUEST)
    stored = memory.get(pattern_id)
    assert stored is not None
    pattern = stored.pattern
    assert pattern.source is PatternSource.FORGE
    assert pattern.problem_type is ProblemType.BUG_FIX
    assert pattern.before_code == "average = sum(o.total for o in orders) / len(orders)"
    assert pattern.after_code.endswith("if orders else 0.0")
    assert pattern.language == "python"
    assert "divides by the number of orders" in pattern.commit_msg
    assert "return zero when there are no orders" in pattern.commit_msg
    assert pattern.author == "alice" and stored.user_id == "alice"
    forged_at = dt.datetime.strptime(pattern.date, DATE_FORMAT).replace(tzinfo=dt.UTC)
    assert started <= forged_at <= dt.datetime.now(dt.UTC)
    # The seed's confidence: 0.5 + 0.2 (a clear fix) + 0.15 (code on both sides) + 0.1 (>100).
    assert pattern.confidence == 0.95
    assert memory.metrics.counter(FORGED) == 1
    # Looked up by the request it answered (a question that shares little wording with it).
    hits = memory.search("monthly report crashes for customers who never ordered")
    assert [hit.stored.pattern.pattern_id for hit in hits][:1] == [pattern_id]


def test_the_same_fix_twice_is_one_pattern(open_memory: OpenMemory) -> None:
    memory = open_memory()
    first = forge_patterns(memory, ANSWER, REQUEST)
    second = forge_patterns(memory, ANSWER, "another wording of the same question")
    assert first == second
    assert memory.metrics.counter(FORGED) == 1
    assert memory.stats().patterns == 1


def test_a_prose_fix_without_code_keeps_its_texts(open_memory: OpenMemory) -> None:
    memory = open_memory()
    answer = "To fix the flaky upload test, pin the clock with freezegun before each upload."
    (pattern_id,) = forge_patterns(memory, answer)
    stored = memory.get(pattern_id)
    assert stored is not None
    assert stored.pattern.before_code == "the flaky upload test"
    assert stored.pattern.after_code == "pin the clock with freezegun before each upload"
    assert stored.pattern.confidence == 0.7  # no code on either side, under 100 characters
    # Without a request, the problem is what a later question is matched against.
    hits = memory.search("why is my upload test flaky?")
    assert [hit.stored.pattern.pattern_id for hit in hits] == [pattern_id]


def test_secrets_are_scrubbed_before_storage(open_memory: OpenMemory) -> None:
    memory = open_memory()
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    answer = (
        "The issue was that the client sent no token, the fix is to pass it explicitly:\n"
        f'```python\nclient = Github(token="{secret}")\n```\n'
    )
    (pattern_id,) = forge_patterns(memory, answer, f"my token {secret} is ignored")
    stored = memory.get(pattern_id)
    assert stored is not None
    dumped = repr(stored.pattern)
    assert secret not in dumped and "REDACTED" in stored.pattern.after_code


def test_forge_on_success_false_forges_nothing(open_memory: OpenMemory) -> None:
    memory = open_memory(forgeOnSuccess=False)
    assert forge_patterns(memory, ANSWER, REQUEST) == []
    assert memory.metrics.counter(FORGED) == 0
    assert memory.stats().patterns == 0


def test_an_answer_without_a_fix_forges_nothing(open_memory: OpenMemory) -> None:
    memory = open_memory()
    answer = "I will fix the tests later; the bug tracker has the details of the issue."
    assert forge_patterns(memory, answer, REQUEST) == []
    assert memory.metrics.counter(FORGED) == 0
    assert memory.stats().patterns == 0
