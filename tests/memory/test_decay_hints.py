"""Decay counts from a pattern's latest evidence on its repository's clock; `stats` shows
active/decayed/retired/reverted, the CLI's search flags stale patterns, and a search that
finds nothing says when decayed or retired patterns exist."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.stats import LifecycleCounts
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES, Clock


def test_stats_and_an_empty_search_tell_about_decayed_and_retired_patterns(
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    with PatternMemory.open(settings, embedder, clock=clock) as memory:
        [old, _also_old, retired] = memory.add_patterns(FIXES[5:8])  # 2024-03-01
        for _ in range(10):
            memory.record_outcome(retired, Outcome.NOT_HELPFUL)
        clock.advance(settings.decay_after_days + 1)  # the wall clock decays nothing
        assert memory.lifecycle_counts().decayed == 0
        # The repository's newest commit moves on by more than decayAfterDays.
        memory.add_patterns([dataclasses.replace(FIXES[0], date="2024-09-01 12:00:00")])
        assert memory.lifecycle_counts() == LifecycleCounts(
            active=1, decayed=2, retired=1, reverted=0
        )
        assert memory.stats().lifecycle.decayed == 2
        memory.record_outcome(old, Outcome.HELPFUL)  # a success is new evidence
        assert memory.lifecycle_counts().decayed == 1

    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["search", FIXES[7].commit_msg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No learned pattern matches")
    assert "1 pattern(s) are past decayAfterDays=90 (shown here as stale" in out
    assert "set decayAfterDays: 0" in out
    assert "1 retired pattern(s)" in out
    assert main(["stats"]) == 0
    assert "(2 active, 1 past decayAfterDays, 1 retired, 0 reverted" in capsys.readouterr().out
    # The CLI's search shows a stale pattern, flagged.
    assert main(["search", FIXES[6].commit_msg, "-k", "1"]) == 0
    assert "[stale: past decayAfterDays]" in capsys.readouterr().out
