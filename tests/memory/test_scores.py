"""The fused relevance tells matches apart: a query like a past fix scores high (never a
flat 1.00), and an unrelated query that shares words with the fix scores well below it."""

from __future__ import annotations

import dataclasses

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.search import semantic_relevance
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


def test_semantic_relevance_keeps_rising_instead_of_saturating() -> None:
    scores = [semantic_relevance(c) for c in (0.15, 0.39, 0.55, 0.66, 0.8)]
    assert scores[0] == 0.0 and abs(scores[1] - 0.6) < 0.01
    assert scores == sorted(scores) and len(set(scores)) == len(scores) and scores[-1] < 1.0


def test_an_unrelated_query_sharing_words_scores_well_below_the_fix(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    with PatternMemory.open(dataclasses.replace(settings, similarity=0.0), embedder) as memory:
        memory.add_patterns(FIXES)
        [like_the_fix] = memory.search("ZeroDivisionError when the list is empty", k=1)
        assert like_the_fix.stored.pattern == FIXES[7] and 0.6 <= like_the_fix.score < 1.0
        # Shares "list", "values" with that fix's message and code, asks for something else.
        [overlapping] = memory.search("write the list of values to the docs page", k=1)
        assert overlapping.score < 0.6 <= like_the_fix.score - 0.3
