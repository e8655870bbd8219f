"""PatternMemory.change_token(): changes with every change to patterns or feedback made by
any connection, is equal on every thread, and stays put for reads (search, stats)."""

from __future__ import annotations

import threading

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


def _on_another_thread(memory: PatternMemory) -> int:
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(memory.change_token()))
    worker.start()
    worker.join()
    return seen[0]


def test_the_token_follows_every_writer_and_agrees_across_threads(
    memory: PatternMemory, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    start = memory.change_token()
    [pattern_id] = memory.add_patterns(FIXES[:1])
    added = memory.change_token()
    assert added != start and _on_another_thread(memory) == added

    memory.search("ZeroDivisionError when the list is empty")
    memory.stats()
    memory.flush_metrics()
    assert memory.change_token() == added  # reads and metrics are not changes

    with PatternMemory.open(settings, embedder) as other:  # another connection
        other.record_outcome(pattern_id, Outcome.HELPFUL)
    rated = memory.change_token()
    assert rated != added and _on_another_thread(memory) == rated

    assert memory.forget(pattern_id)
    assert memory.change_token() not in (start, added, rated)
