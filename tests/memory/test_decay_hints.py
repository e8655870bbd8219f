"""Decay counts from when a pattern was learned; `stats` shows active/decayed/retired and a
search that finds nothing says when decayed or retired patterns exist."""

from __future__ import annotations

import datetime as dt

import pytest
from memory_samples import FIXES, Clock

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings


def test_stats_and_an_empty_search_tell_about_decayed_and_retired_patterns(
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    with PatternMemory.open(settings, embedder, clock=clock) as memory:
        [old, _also_old, retired] = memory.add_patterns(FIXES[5:8])
        for _ in range(10):
            memory.record_outcome(retired, Outcome.NOT_HELPFUL)
        clock.advance(settings.decay_after_days + 1)
        memory.add_patterns(FIXES[:1])
        assert memory.lifecycle_counts() == {"active": 1, "decayed": 2, "retired": 1}
        assert memory.stats()["decayed"] == 2
        memory.record_outcome(old, Outcome.HELPFUL)  # success does not make it fresh again
        assert memory.lifecycle_counts()["decayed"] == 2

    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["search", FIXES[7].commit_msg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No learned pattern matches")
    assert "3 pattern(s) are past decayAfterDays=90; set decayAfterDays: 0" in out
    assert "1 retired pattern(s)" in out
    assert main(["stats"]) == 0
    assert "(0 active, 3 past decayAfterDays, 1 retired" in capsys.readouterr().out
