"""The fused relevance tells matches apart: a query like a past fix scores high (never a
flat 1.00), and an unrelated query that shares words with the fix scores well below it."""

from __future__ import annotations

import dataclasses

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.search import selective_terms, semantic_relevance
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


def test_semantic_relevance_keeps_rising_instead_of_saturating() -> None:
    scores = [semantic_relevance(c) for c in (0.15, 0.39, 0.55, 0.66, 0.8)]
    assert scores[0] == 0.0 and abs(scores[1] - 0.6) < 0.01
    assert scores == sorted(scores) and len(set(scores)) == len(scores) and scores[-1] < 1.0


def test_a_text_query_of_common_words_leaves_out_the_ones_in_most_patterns() -> None:
    """Nothing rare in the query: the full-text lookup takes the rarest common terms, but a
    word found in every pattern only walks its whole posting list and ranks nothing."""
    frequencies = {"45": 289, "timeout": 1_250, "bug": 10_000}
    terms = ["why", "timeout", "bug", "45"]
    assert selective_terms(terms, frequencies, 10_000) == ["45", "timeout"]
    # Code (a window searched by containment) keeps them: a pattern of common tokens only
    # can still stand whole in it.
    assert selective_terms(terms, frequencies, 10_000, text_query=False) == [
        "45",
        "timeout",
        "bug",
    ]
    # The rarest is always taken, however common; a rare term makes the others unneeded.
    assert selective_terms(["bug"], frequencies, 10_000) == ["bug"]
    assert selective_terms(terms, {**frequencies, "why": 3}, 10_000) == ["why"]


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
