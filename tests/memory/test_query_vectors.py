"""The memory keeps the vectors of its latest queries: a repeated query (a retry, an agent
loop sending the same last message) is not embedded again, and the results are the same."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pattern_memory.memory import service
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.memory.memory_samples import FIXES


class CountingEmbedder:
    """An embedder counting the texts it is asked to embed (the cache is the point, not the
    vectors: the fake one)."""

    def __init__(self, model: HashEmbedder) -> None:
        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.model.embed(texts)


def test_a_repeated_query_is_embedded_once_with_the_same_hits(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    counting = CountingEmbedder(hash_embedder)
    with PatternMemory.open(Settings(db_path=tmp_path / "p.db"), counting) as memory:
        memory.add_patterns(FIXES)
        counting.texts.clear()
        query = "Retry HTTP requests that time out"  # a fix's own words: the fake finds it
        first = memory.search(query)
        again = memory.search(query)
        assert counting.texts == [query]
        assert first and [(h.stored.pattern.pattern_id, h.score) for h in again] == [
            (h.stored.pattern.pattern_id, h.score) for h in first
        ]
        memory.search("Fix off-by-one error in pagination")
        assert len(counting.texts) == 2


def test_only_the_latest_queries_are_kept(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    counting = CountingEmbedder(hash_embedder)
    with PatternMemory.open(Settings(db_path=tmp_path / "p.db"), counting) as memory:
        kept = service.QUERY_VECTORS_KEPT
        for number in range(kept + 1):
            memory.search(f"query number {number}")
        memory.search(f"query number {kept}")  # the latest: kept
        assert len(counting.texts) == kept + 1
        memory.search("query number 0")  # the oldest: gone
        assert len(counting.texts) == kept + 2
