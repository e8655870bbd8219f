"""Read-only commands never wait for a writer: opening a migrated database, searching and
closing (which flushes metrics best-effort) all work while another connection holds the
write lock, and the counts not written are kept for the next flush."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.metrics import LOOKUP_MS
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


@pytest.fixture
def writer(settings: Settings, embedder: FastEmbedEmbedder) -> Iterator[apsw.Connection]:
    """A migrated database with patterns, and another connection holding its write lock."""
    with PatternMemory.open(settings, embedder) as memory:
        memory.add_patterns(FIXES)
        memory.search("ZeroDivisionError when the list is empty")  # vectors in the table
    other = apsw.Connection(str(settings.db_path))
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_open_search_stats_close_while_another_connection_writes(
    settings: Settings, embedder: FastEmbedEmbedder, writer: apsw.Connection
) -> None:
    started = time.monotonic()
    memory = PatternMemory.open(settings, embedder)
    hits = memory.search("ZeroDivisionError when the list is empty", k=1)
    assert hits[0].stored.pattern == FIXES[7]
    assert memory.stats().patterns == len(FIXES)
    memory.close()
    assert time.monotonic() - started < 3.0  # the busy timeout is 5 s: nothing waited
    assert memory.store.db._all == []  # every connection closed

    writer.execute("ROLLBACK")
    with PatternMemory.open(settings, embedder) as again:
        samples_before = len(again.store.metrics.metric_samples(LOOKUP_MS))
    assert samples_before == 1  # the fixture's lookup only: none written under the lock


def test_unflushed_metrics_wait_for_the_next_flush(
    settings: Settings, embedder: FastEmbedEmbedder, writer: apsw.Connection
) -> None:
    memory = PatternMemory.open(settings, embedder)
    try:
        memory.search("last page shows one extra item")
        memory.flush_metrics()  # busy: kept
        writer.execute("ROLLBACK")
        memory.flush_metrics()
        assert len(memory.store.metrics.metric_samples(LOOKUP_MS)) == 2  # the fixture's and ours
        assert memory.store.metrics.persisted_counters()[LOOKUP_MS + ".count"] == 2
    finally:
        memory.close()


def test_cli_search_prints_while_another_connection_writes(
    settings: Settings,
    writer: apsw.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["search", "ZeroDivisionError when the list is empty", "-k", "1"]) == 0
    assert FIXES[7].commit_msg in capsys.readouterr().out
    assert main(["stats"]) == 0
    assert f"patterns: {len(FIXES)}" in capsys.readouterr().out
