"""The seed's lifecycle: outcomes, success rate with a prior, retirement, decay, reinforcement."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pattern_memory.errors import InputError
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.lifecycle import should_retire, success_rate
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES, Clock, make_pattern

ZERO_DIVISION = "ZeroDivisionError when the list is empty"
CONFIG_CRASH = "crash when the config file is missing"


def _code_query(memory: PatternMemory) -> list[str]:
    code = "def average(values):\n    return sum(values) / len(values)"
    return [h.stored.pattern.pattern_id for h in memory.search_code(code)]


def test_a_new_pattern_gets_the_prior_and_is_surfaced(memory: PatternMemory) -> None:
    [pattern_id] = memory.add_patterns([FIXES[7]])
    stored = memory.get(pattern_id)
    assert stored is not None
    assert (
        stored.lifecycle.uses,
        stored.lifecycle.success_count,
        stored.lifecycle.failure_count,
    ) == (0, 0, 0)
    assert stored.success_rate == pytest.approx(0.8)
    assert stored.success_rate >= memory.settings.min_success_rate
    assert memory.search(ZERO_DIVISION)[0].stored.pattern.pattern_id == pattern_id


def test_outcomes_update_counts_rate_feedback_and_last_used(memory: PatternMemory) -> None:
    [pattern_id] = memory.add_patterns([FIXES[7]])
    memory.record_outcome(pattern_id, Outcome.APPLIED)
    memory.record_outcome(pattern_id, Outcome.HELPFUL)
    stored = memory.record_outcome(pattern_id, Outcome.NOT_HELPFUL)
    assert (
        stored.lifecycle.uses,
        stored.lifecycle.success_count,
        stored.lifecycle.failure_count,
    ) == (3, 2, 1)
    assert stored.success_rate == pytest.approx((2 + 4) / (3 + 5))
    assert stored.lifecycle.last_used is not None
    assert [o for o, _ in memory.store.feedback.history(pattern_id, memory._scope())] == [
        "applied",
        "helpful",
        "not_helpful",
    ]
    with pytest.raises(InputError, match="no pattern"):
        memory.record_outcome("0000000000000000", Outcome.HELPFUL)


def test_min_success_rate_hides_patterns_that_did_not_help(memory: PatternMemory) -> None:
    [pattern_id] = memory.add_patterns([FIXES[7]])
    memory.record_outcome(pattern_id, Outcome.NOT_HELPFUL)
    assert _code_query(memory) == [pattern_id]  # 4/6 = 0.67: still above 0.6
    memory.record_outcome(pattern_id, Outcome.NOT_HELPFUL)
    assert _code_query(memory) == []  # 4/7 = 0.57
    assert memory.search(ZERO_DIVISION) == []
    memory.record_outcome(pattern_id, Outcome.HELPFUL)
    assert _code_query(memory) == [pattern_id]  # 5/8 = 0.625


def test_retirement_is_below_30_percent_over_10_or_more_uses() -> None:
    assert not should_retire(successes=0, uses=9)
    assert should_retire(successes=2, uses=10)
    assert not should_retire(successes=3, uses=10)
    assert should_retire(successes=3, uses=11)
    assert success_rate(0, 0) == pytest.approx(0.8)


def test_a_retired_pattern_is_never_surfaced_again(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    # minSuccessRate 0 isolates the retirement rule from the rate filter.
    memory = PatternMemory.open(dataclasses.replace(settings, min_success_rate=0.0), embedder)
    try:
        [pattern_id] = memory.add_patterns([FIXES[7]])
        for outcome in [Outcome.HELPFUL] * 2 + [Outcome.NOT_HELPFUL] * 7:
            stored = memory.record_outcome(pattern_id, outcome)
        assert stored.lifecycle.uses == 9 and not stored.retired
        assert _code_query(memory) == [pattern_id]
        stored = memory.record_outcome(pattern_id, Outcome.NOT_HELPFUL)
        assert stored.lifecycle.uses == 10 and stored.retired  # 2/10 = 20 %
        assert _code_query(memory) == []
        assert memory.search(ZERO_DIVISION) == []
        # Retired is final: later successes do not bring it back.
        for _ in range(10):
            stored = memory.record_outcome(pattern_id, Outcome.HELPFUL)
        assert stored.retired
        assert _code_query(memory) == []
        assert memory.stats().lifecycle.retired == 1
    finally:
        memory.close()


def test_patterns_decay_by_their_latest_evidence_on_the_repositorys_clock(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    """A pattern whose latest evidence is more than decayAfterDays behind its repository's
    newest learned commit is not surfaced, even with a high rate; the wall clock alone
    decays nothing, and a successful use is new evidence (it used to be: age since the
    pattern entered the memory, not reset by success)."""
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    memory = PatternMemory.open(settings, embedder, clock=clock)
    never = PatternMemory.open(
        dataclasses.replace(settings, decay_after_days=0), embedder, clock=clock
    )
    try:
        [stale, used] = memory.add_patterns([FIXES[7], FIXES[0]])  # both 2024-03-01 12:00
        clock.advance(1000)
        assert _code_query(memory) == [stale]  # time passing alone decays nothing
        day_90 = dataclasses.replace(FIXES[1], date="2024-05-30 12:00:00")
        memory.add_patterns([day_90])  # the repository's clock: 90 days on
        assert _code_query(memory) == [stale]
        memory.record_outcome(used, Outcome.HELPFUL)  # used (wall clock 2027)
        day_91 = dataclasses.replace(FIXES[2], date="2024-05-31 12:00:01")
        memory.add_patterns([day_91])  # 91 days and a second on: the unused one decays
        assert _code_query(memory) == []
        assert memory.search(ZERO_DIVISION) == []
        assert [h.stored.pattern.pattern_id for h in memory.search(CONFIG_CRASH)] == [used]
        # decayAfterDays 0: never decays.
        assert _code_query(never) == [stale]
        # Decay hides, it does not delete: the stale pattern is found when asked for.
        stored = memory.get(stale)
        assert stored is not None and stored.stale
        assert memory.search(ZERO_DIVISION, include_stale=True)[0].stored.stale
    finally:
        memory.close()
        never.close()


def test_reinforced_patterns_rank_higher(memory: PatternMemory) -> None:
    first = make_pattern(
        "Guard against empty input in mean",
        "def mean(values):\n    return sum(values) / len(values)",
        "def mean(values):\n    return sum(values) / len(values) if values else 0.0",
    )
    second = make_pattern(
        "Avoid division by zero in mean",
        "def mean(values):\n    total = sum(values)\n    return total / len(values)",
        "def mean(values):\n    total = sum(values)\n    return total / max(len(values), 1)",
    )
    ids = memory.add_patterns([first, second])
    # Code that contains both patterns' before-code: equally relevant.
    code = "def mean(values):\n    total = sum(values)\n    return sum(values) / len(values)"
    before = [h.stored.pattern.pattern_id for h in memory.search_code(code)]
    loser = before[-1]
    for _ in range(5):
        memory.record_outcome(loser, Outcome.HELPFUL)
    after = [h.stored.pattern.pattern_id for h in memory.search_code(code)]
    assert sorted(before) == sorted(ids)
    assert after[0] == loser
