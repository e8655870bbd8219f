"""Export/import keeps each pattern's lifecycle (counts, uses, last use, learned at,
retired); the seed's plain lines still import as new patterns."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Lifecycle, Outcome
from pattern_memory.patterns import Pattern, write_jsonl_file
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


def _state(memory: PatternMemory) -> list[tuple[Pattern, Lifecycle]]:
    return [(s.pattern, s.lifecycle) for s in memory.iter_stored()]


def test_a_round_trip_keeps_feedback_and_retirement(
    tmp_path: Path,
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with PatternMemory.open(settings, embedder) as source:
        [rated, retired, _plain] = source.add_patterns(FIXES[:3])
        for outcome in (Outcome.HELPFUL, Outcome.HELPFUL, Outcome.NOT_HELPFUL):
            source.record_outcome(rated, outcome)
        for _ in range(10):
            source.record_outcome(retired, Outcome.NOT_HELPFUL)
        expected = _state(source)
    assert expected[1][1].retired
    exported = tmp_path / "out.jsonl"
    assert main(["export", str(exported), "--db", str(settings.db_path)]) == 0
    assert json.loads(exported.read_text().splitlines()[0])["lifecycle"]["uses"] == 3

    fresh = tmp_path / "fresh.db"
    assert main(["import", str(exported), "--db", str(fresh)]) == 0
    with PatternMemory.open(dataclasses.replace(settings, db_path=fresh), embedder) as target:
        assert _state(target) == expected
        # The retired pattern came back retired: never surfaced.
        assert all(
            h.stored.pattern.pattern_id != retired for h in target.search(FIXES[1].commit_msg, k=8)
        )


def test_plain_seed_lines_import_as_new_patterns(
    tmp_path: Path, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    plain = tmp_path / "seed.jsonl"
    write_jsonl_file(FIXES[:2], plain)
    assert main(["import", str(plain), "--db", str(settings.db_path)]) == 0
    with PatternMemory.open(settings, embedder) as memory:
        assert [(s.pattern, s.lifecycle.uses, s.retired) for s in memory.iter_stored()] == [
            (FIXES[0], 0, False),
            (FIXES[1], 0, False),
        ]


def test_a_bad_lifecycle_is_one_line(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    line = {**FIXES[0].to_json_dict(), "lifecycle": {"uses": -1}}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(line) + "\n")
    assert main(["import", str(bad), "--db", str(settings.db_path)]) == 2
    assert "bad.jsonl:1: not a valid pattern: 'lifecycle'" in capsys.readouterr().err
