"""minSuccessRate above the prior (0.8; the seed's own example is 0.85) judges patterns by
their record: an untested pattern still surfaces, a tested one below the minimum does not."""

from __future__ import annotations

import dataclasses

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES

ZERO_DIVISION = "ZeroDivisionError when the list is empty"
CONFIG = "crash when the config file is missing"


def test_strict_minimum_surfaces_untested_patterns_and_hides_weak_records(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    strict = dataclasses.replace(settings, min_success_rate=0.85)
    with PatternMemory.open(strict, embedder) as memory:
        [untested, tested] = memory.add_patterns([FIXES[7], FIXES[0]])
        assert memory.search(ZERO_DIVISION)[0].stored.pattern.pattern_id == untested
        for outcome in [Outcome.HELPFUL] * 4 + [Outcome.NOT_HELPFUL]:
            stored = memory.record_outcome(tested, outcome)
        assert stored.success_rate == 0.8 and not stored.meets_success_rate(0.85)
        assert all(h.stored.pattern.pattern_id != tested for h in memory.search(CONFIG, k=8))
        memory.record_outcome(tested, Outcome.HELPFUL)  # 9/11 = 0.82: still below
        memory.record_outcome(tested, Outcome.HELPFUL)  # 10/12 = 0.83
        memory.record_outcome(tested, Outcome.HELPFUL)  # 11/13 = 0.846
        memory.record_outcome(tested, Outcome.HELPFUL)  # 12/14 = 0.857: proven
        assert memory.search(CONFIG)[0].stored.pattern.pattern_id == tested
