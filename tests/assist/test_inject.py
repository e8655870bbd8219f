"""build_injection_block against the real memory: relevant patterns come back as the block,
the memory's filters and maxInjected apply, `patterns.injected` counts what was injected."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from pattern_memory.assist.inject import build_injection_block
from pattern_memory.memory.metrics import INJECTED
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id

FIXES = [
    (
        "fix: KeyError when a user has no profile",
        "profile = users[user_id]['profile']",
        "profile = users.get(user_id, {}).get('profile')",
    ),
    (
        "fix: request timeout given in milliseconds instead of seconds",
        "requests.get(url, timeout=5000)",
        "requests.get(url, timeout=5)",
    ),
    (
        "fix: SQL injection in the search query, use bound parameters",
        "cursor.execute(f\"SELECT * FROM items WHERE name = '{name}'\")",
        'cursor.execute("SELECT * FROM items WHERE name = ?", (name,))',
    ),
    (
        "fix: off-by-one when paginating the results list",
        "page = results[start:start + size + 1]",
        "page = results[start:start + size]",
    ),
]


OpenMemory = Callable[..., PatternMemory]


def stored_patterns() -> list[Pattern]:
    return [
        Pattern(
            pattern_id=make_pattern_id(message),
            problem_type=ProblemType.BUG_FIX,
            before_code=before,
            after_code=after,
            commit_msg=message,
            author="dev@example.com",
            date="2099-01-01 00:00:00",  # never decays during the test
            confidence=0.85,
            file_path="app/service.py",
            language="python",
        )
        for message, before, after in FIXES
    ]


def test_the_relevant_pattern_is_injected_and_counted(open_memory: OpenMemory) -> None:
    memory = open_memory()
    memory.add_patterns(stored_patterns())
    block = build_injection_block(memory, "my requests.get call times out, timeout=5000 ms?")
    root = ET.fromstring(block)
    ids = [element.get("id") for element in root.findall("pattern")]
    assert ids and ids[0] == make_pattern_id(FIXES[1][0])
    first = root.find("pattern")
    assert first is not None and first.findtext("after", "").strip() == FIXES[1][2]
    assert memory.metrics.counter(INJECTED) == len(ids)
    assert len(ids) <= memory.settings.max_injected


def test_max_injected_bounds_the_block(open_memory: OpenMemory) -> None:
    memory = open_memory(maxInjected=1, similarity=0.0, minSuccessRate=0.0)
    memory.add_patterns(stored_patterns())
    block = build_injection_block(memory, "fix a bug in the python service")
    assert block.count("<pattern ") == 1
    assert memory.metrics.counter(INJECTED) == 1


def test_nothing_relevant_means_no_block(open_memory: OpenMemory) -> None:
    memory = open_memory()
    assert build_injection_block(memory, "requests.get timeout in milliseconds") == ""  # empty
    memory.add_patterns(stored_patterns())
    assert build_injection_block(memory, "   ") == ""
    assert build_injection_block(memory, "what is a good name for a golden retriever puppy?") == ""
    assert memory.metrics.counter(INJECTED) == 0
    # The memory's filters apply: minSuccessRate judges a pattern by its record, so an
    # untested one is injected but one with a failure on record misses a 100% requirement.
    strict = open_memory(minSuccessRate=1.0)
    untested = build_injection_block(strict, "requests.get timeout in milliseconds")
    assert untested.count("<pattern ") == 1
    hit = strict.search("requests.get timeout in milliseconds")[0]
    strict.record_outcome(hit.stored.pattern.pattern_id, Outcome.NOT_HELPFUL)
    assert build_injection_block(strict, "requests.get timeout in milliseconds") == ""
    assert strict.metrics.counter(INJECTED) == 1
