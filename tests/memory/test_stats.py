"""`stats()` is a Stats dataclass: its fields count what the store holds, and its one JSON
shape (`as_json`) is what `pattern-memory stats --json` prints and what the language server
returns camel-cased (the VS Code client reads patterns, active and retired; scripts read
the rest)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.metrics import LOOKUP_MS
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.stats import LifecycleCounts
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES

# The keys of `stats --json` and of patternMemory.stats (camel-cased there) before Stats.
JSON_KEYS = {
    "patterns",
    "active",
    "decayed",
    "retired",
    "reverted",
    "embedded",
    "successes",
    "feedback",
    "by_type",
    "by_source",
    "repositories",
    "db_path",
    "schema_version",
    "vec_version",
    "vector_model",
    "metrics",
}


def test_stats_count_the_store_and_the_cli_prints_their_json(
    settings: Settings,
    embedder: FastEmbedEmbedder,  # the CLI's model: another one's vectors would be dropped
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = FIXES[:4]
    with PatternMemory.open(settings, embedder) as memory:
        ids = memory.add_patterns(stored)
        memory.record_outcome(ids[0], Outcome.HELPFUL)
        for _ in range(10):
            memory.record_outcome(ids[1], Outcome.NOT_HELPFUL)
        memory.store.save_batch(  # what indexing stores with a batch: the mined cursor
            items=[],
            user_id=settings.user_id,
            created_at="2025-01-01 00:00:00",
            repository="/repo",
            last_commit="b" * 40,
            commits_read=1,
        )
        memory.search_code(FIXES[2].before_code)
        memory.metrics.count("patterns.injected", 2)
        stats = memory.stats()

    assert stats.patterns == stats.embedded == len(stored)
    assert stats.lifecycle == LifecycleCounts(active=3, decayed=0, retired=1, reverted=0)
    assert (stats.feedback, stats.successes) == (11, 1)
    assert stats.by_type == dict(Counter(p.problem_type.value for p in stored))
    assert stats.by_source == {"git": len(stored)}
    assert stats.repositories == {"/repo": "b" * 40}
    assert stats.vector_model == embedder.model_id
    assert stats.lookup_ms.count == 1 and stats.lookup_ms.p95 >= stats.lookup_ms.p50 > 0
    assert stats.counters["patterns.injected"] == 2

    shape = stats.as_json()
    assert set(shape) == JSON_KEYS
    assert (shape["patterns"], shape["active"], shape["retired"]) == (4, 3, 1)
    assert shape["metrics"][LOOKUP_MS]["count"] == 1
    assert shape["metrics"]["patterns.injected"] == 2

    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == shape  # nothing changed since
    assert main(["stats"]) == 0
    text = capsys.readouterr().out
    assert "patterns: 4 (3 active, 0 past decayAfterDays, 1 retired, 0 reverted" in text
    assert "feedback: 11 outcome(s)" in text and "indexed: /repo up to bbbbbbbbbbbb" in text
    assert "patterns.injected: 2  patterns.forged: 0  patterns.lookup_ms: count 1" in text
