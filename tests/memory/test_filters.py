"""The filters (scope, retired, decay, success rate, problem type) are applied inside the
candidate queries: many ineligible patterns that match better never crowd out the one
eligible match (the candidate limits count only eligible patterns). Rows are the point, not
meaning: the fake embedder, whose vectors rank the crowd (more shared words) above the one."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pattern_memory.memory.search import CANDIDATES
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import ProblemType
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.memory.memory_samples import Clock, make_pattern

CROWD = CANDIDATES + 50


def _crowd(kind: ProblemType = ProblemType.BUG_FIX) -> list:  # type: ignore[type-arg]
    return [
        make_pattern(
            f"Fix frobnicate_widget call {i}",
            "frobnicate_widget(x)\n",
            f"frobnicate_widget(x, {i})\n",
            kind=kind,
        )
        for i in range(CROWD)
    ]


FRESH = make_pattern(
    "guard against None in frobnicate_widget",
    "y = load()\nfrobnicate_widget(x)\nz = other_call(y)\nprint(z)\n",
    "y = load()\nfrobnicate_widget(x or 0)\nz = other_call(y)\nprint(z)\n",
)


def test_decayed_patterns_do_not_crowd_out_a_fresh_one(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    relaxed = dataclasses.replace(settings, similarity=0.1)
    with PatternMemory.open(relaxed, hash_embedder, clock=clock) as memory:
        # Stale: a year behind the repository's newest fix (decay is on its clock now).
        memory.add_patterns([dataclasses.replace(p, date="2023-03-01 12:00:00") for p in _crowd()])
        [fresh] = memory.add_patterns([FRESH])
        assert [h.stored.pattern.pattern_id for h in memory.search("frobnicate_widget")] == [fresh]
        code = memory.search_code(FRESH.before_code)
        assert [h.stored.pattern.pattern_id for h in code] == [fresh]


def test_other_problem_types_do_not_crowd_out_the_one_asked_for(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    relaxed = dataclasses.replace(settings, similarity=0.1)
    with PatternMemory.open(relaxed, hash_embedder) as memory:
        memory.add_patterns(_crowd(ProblemType.FEATURE_ADDITION))
        [fresh] = memory.add_patterns([FRESH])
        hits = memory.search("frobnicate_widget", problem_type=ProblemType.BUG_FIX)
        assert [h.stored.pattern.pattern_id for h in hits] == [fresh]
