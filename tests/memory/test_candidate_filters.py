"""Every filter reaches the candidate queries: patterns a search may not return (here:
feature additions when bug fixes are asked for) never use up a candidate budget."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pattern_memory.matching.shape import code_shingles
from pattern_memory.memory.db import Database
from pattern_memory.memory.filters import Filters, Scope, eligible_sql
from pattern_memory.memory.lifecycle import Decay
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.shape_store import POSTINGS_PER_SHINGLE
from pattern_memory.memory.store import PatternStore
from pattern_memory.patterns import Pattern, ProblemType
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.memory.memory_samples import make_pattern

RENAMED_DOCUMENT = "def load(user_id):\n    record = db.get(user_id)\n    return record['name']\n"


def _pattern(n: int, kind: ProblemType) -> Pattern:
    # One shape, other names: code with the document's shape written by someone else.
    before = f"row{n} = db.get(uid{n})\nreturn row{n}['name']"
    after = f"row{n} = db.get(uid{n})\nif row{n} is None:\n    return None\nreturn row{n}['name']"
    return make_pattern(f"{kind.value}: {n}", before, after, kind=kind, path="", commit="")


def test_shape_postings_skip_patterns_the_filters_exclude(tmp_path: Path) -> None:
    store = PatternStore(Database(tmp_path / "p.db"))
    # More features than one shingle's postings, stored first (lower row ids come first).
    features = [_pattern(n, ProblemType.FEATURE_ADDITION) for n in range(POSTINGS_PER_SHINGLE + 40)]
    bug = _pattern(9999, ProblemType.BUG_FIX)
    store.upsert([(p, p.commit_msg) for p in [*features, bug]], "local", "2099-01-01 00:00:00")
    [(bug_row, _)] = store.db.query(
        "SELECT id, 1 FROM patterns WHERE pattern_id = ?", (bug.pattern_id,)
    )
    shingles = code_shingles(RENAMED_DOCUMENT, "python")
    filters = Filters(
        scope=Scope("local", include_team=False),
        decay=Decay(0, "2099-01-01 00:00:00"),
        problem_type=ProblemType.BUG_FIX.value,
    )

    unfiltered = store.shapes.candidates(shingles, 400)
    assert bug_row not in unfiltered  # the features took every posting
    assert store.shapes.candidates(shingles, 400, eligible_sql(filters)) == [bug_row]
    store.db.close()


def test_search_code_returns_only_patterns_of_the_code_language(tmp_path: Path) -> None:
    """Python code is looked up among Python patterns only, in the candidate queries: the
    same shape learned in JavaScript (stored first, more than one shingle's postings) does
    not use up the budget; a stored suffix ("py") counts as its language."""
    store = PatternStore(Database(tmp_path / "p.db"))
    scripts = [
        dataclasses.replace(_pattern(n, ProblemType.BUG_FIX), language="javascript")
        for n in range(POSTINGS_PER_SHINGLE + 40)
    ]
    bug = dataclasses.replace(_pattern(9999, ProblemType.BUG_FIX), language="py")
    store.upsert([(p, p.commit_msg) for p in [*scripts, bug]], "local", "2099-01-01 00:00:00")
    settings = Settings(db_path=tmp_path / "p.db", user_id="local")
    memory = PatternMemory(settings, store, HashEmbedder())
    found = memory.search_code(RENAMED_DOCUMENT, k=5, language="python", min_relevance=0.0)
    assert [hit.stored.pattern.pattern_id for hit in found] == [bug.pattern_id]
    anywhere = memory.search_code(RENAMED_DOCUMENT, k=5, min_relevance=0.0)
    assert bug.pattern_id not in [hit.stored.pattern.pattern_id for hit in anywhere]
    memory.close()
