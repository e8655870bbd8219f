"""The document analysis against a real store: which patterns become fixes, and where."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from pygls.workspace.position_codec import PositionCodec

from pattern_memory.lsp.fixes import FixFinder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings

BEFORE = "row = db.get(uid)\nreturn row['name']"
AFTER = "row = db.get(uid)\nif row is None:\n    return None\nreturn row['name']"
DOCUMENT = "def load(user_id):\n    record = db.get(user_id)\n    return record['name']\n"


def _pattern(name: str, kind: ProblemType, after: str = AFTER) -> Pattern:
    return Pattern(
        pattern_id=make_pattern_id(name),
        problem_type=kind,
        before_code=BEFORE,
        after_code=after,
        commit_msg=f"{kind.value}: {name}",
        author="dev@example.com",
        date="2024-05-01 10:00:00",
        confidence=0.8,
        language="python",
    )


def _find(memory: PatternMemory, settings: Settings, finder: FixFinder) -> list[str]:
    fixes = finder.find(
        memory,
        settings,
        DOCUMENT,
        language="python",
        codec=PositionCodec(),
        cancel=threading.Event(),
    )
    return [fix.stored.pattern.commit_msg for fix in fixes]


def test_only_trusted_bug_fixes_become_fixes(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    feature = _pattern("log rows", ProblemType.FEATURE_ADDITION, AFTER + "\nlog(row)")
    with PatternMemory.open(settings) as memory:
        memory.store.upsert(
            [(bug, bug.commit_msg), (feature, feature.commit_msg)], "local", "2099-01-01 00:00:00"
        )
        finder = FixFinder.create()
        assert _find(memory, settings, finder) == ["bug_fix: guard missing rows"]

        # Two failures bring its success rate under minSuccessRate: no longer offered.
        for _ in range(2):
            memory.record_outcome(bug.pattern_id, Outcome.NOT_HELPFUL)
        finder.store_changed()
        assert _find(memory, settings, finder) == []
    lenient = dataclasses.replace(settings, min_success_rate=0.0)
    with PatternMemory.open(lenient) as memory:
        finder.store_changed()
        assert _find(memory, lenient, finder) == ["bug_fix: guard missing rows"]


def test_fix_ranges_and_edit_in_client_units(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    with PatternMemory.open(settings) as memory:
        memory.store.upsert([(bug, bug.commit_msg)], "local", "2099-01-01 00:00:00")
        [fix] = FixFinder.create().find(
            memory,
            settings,
            DOCUMENT,
            language="python",
            codec=PositionCodec(),
            cancel=threading.Event(),
        )
    assert (fix.range.start.line, fix.range.start.character) == (1, 4)
    assert (fix.range.end.line, fix.range.end.character) == (2, 25)
    assert (fix.edit_range.start.line, fix.edit_range.end.line) == (1, 3)
    assert fix.preferred
    assert "if record is None:" in fix.match.replacement
