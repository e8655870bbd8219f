"""search_code finds a pattern's before-code written with other names (by its shape), in a
store where hundreds of unrelated patterns share the same keywords and operators."""

from __future__ import annotations

import random

import pytest

from pattern_memory.matching import DocumentTokens, build_template, find_matches
from pattern_memory.matching.shape import SHAPE_VERSION, code_shingles, pattern_shingles
from pattern_memory.memory.db import Database
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.store import PatternStore
from pattern_memory.patterns import Pattern
from pattern_memory.settings import Settings
from tests.memory.crowded_samples import (
    DISTINCT,
    DISTINCT_RENAMED,
    RENAMED,
    TARGET,
    stored_patterns,
    unrelated_patterns,
)


@pytest.fixture(scope="module")
def crowded_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(db_path=tmp_path_factory.mktemp("crowded") / "patterns.db", similarity=0.0)


@pytest.fixture(scope="module")
def crowded(crowded_settings: Settings, embedder: object) -> PatternMemory:
    """The target among 630 other bug fixes, 30 of its shape (the real model embeds them)."""
    memory = PatternMemory.open(crowded_settings, embedder)  # type: ignore[arg-type]
    memory.add_patterns(stored_patterns())
    return memory


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.stored.pattern.pattern_id for hit in hits]


def matched_spans(patterns: list[Pattern], code: str) -> set[tuple[int, int]]:
    """Where in `code` the matcher locates any of the patterns' before-code."""
    document = DocumentTokens.from_text(code, "python")
    spans: set[tuple[int, int]] = set()
    for pattern in patterns:
        template = build_template(pattern.before_code, pattern.after_code, "python")
        if template is not None:
            spans.update((m.start, m.end) for m in find_matches(document, template))
    return spans


def shape_of(pattern: Pattern) -> frozenset[int]:
    return pattern_shingles(pattern.before_code, pattern.after_code, pattern.language)


def fitting_whole(patterns: list[Pattern], code: str) -> list[Pattern]:
    """The patterns whose every template shingle `code` has (computed without the store)."""
    present = code_shingles(code, "python")
    return [p for p in patterns if shape_of(p) and shape_of(p) <= present]


def test_renamed_code_finds_its_pattern_among_hundreds(crowded: PatternMemory) -> None:
    hits = crowded.search_code(DISTINCT_RENAMED, k=20)
    assert ids(hits)[0] == DISTINCT.pattern_id
    assert hits[0].score == 1.0
    template = build_template(DISTINCT.before_code, DISTINCT.after_code, "python")
    assert template is not None
    (match,) = find_matches(DocumentTokens.from_text(DISTINCT_RENAMED, "python"), template)
    assert "queue.pop(0) if queue else None" in match.replacement


def test_the_reviewers_case_is_found_though_many_patterns_share_its_shape(
    crowded: PatternMemory,
) -> None:
    """`value = data[key]` has a shape dozens of the stored fixes share: more of them fit
    the renamed code whole than k, and the hits hold several, which the matcher locates."""
    everything = stored_patterns()
    assert len(fitting_whole(everything, RENAMED)) > 20  # more than k: the shape is common
    hits = crowded.search_code(RENAMED, k=20)
    whole = [h for h in hits if h.score == 1.0]
    assert len(whole) >= 5
    assert {h.stored.pattern.pattern_id for h in whole} <= {
        p.pattern_id for p in fitting_whole(everything, RENAMED)
    }
    assert matched_spans([h.stored.pattern for h in whole], RENAMED)


def test_renamed_code_inside_a_long_window_is_still_a_top_candidate(
    crowded: PatternMemory,
) -> None:
    rng = random.Random(5)
    filler = [p.before_code for p in unrelated_patterns(12, seed=99)]
    rng.shuffle(filler)
    window = "\n".join([*filler[:6], RENAMED, DISTINCT_RENAMED, *filler[6:]])
    everything = stored_patterns()
    wanted = {shape_of(p) for p in fitting_whole(everything, window)}
    assert len(wanted) >= 8
    for language in (None, "python"):
        hits = crowded.search_code(window, k=20, language=language)
        assert DISTINCT.pattern_id in ids(hits)
        # Every shape that stands in the window whole has a candidate among the top k.
        assert {shape_of(h.stored.pattern) for h in hits} >= wanted


def test_the_same_names_are_still_found_and_a_different_shape_is_not(
    crowded: PatternMemory,
) -> None:
    assert TARGET.pattern_id in ids(crowded.search_code(TARGET.before_code, k=20))
    other_shape = "def find_user(users, user_id):\n    record = users(user_id)\n    return record\n"
    hits = crowded.search_code(other_shape, k=20)
    assert all(h.score < 1.0 for h in hits if h.stored.pattern.pattern_id == TARGET.pattern_id)


def shape_score(memory: PatternMemory) -> float:
    """The renamed DISTINCT code's score for the DISTINCT pattern (0.0: not found)."""
    hits = memory.search_code(DISTINCT_RENAMED, k=20)
    return next((h.score for h in hits if h.stored.pattern.pattern_id == DISTINCT.pattern_id), 0.0)


def test_an_existing_database_gets_shapes_by_migration_and_reindex(
    crowded_settings: Settings, crowded: PatternMemory, embedder: object
) -> None:
    crowded.close()
    store = PatternStore(Database(crowded_settings.db_path))
    with store.db.atomic() as c:  # back to the schema before shapes
        c.execute("DROP TABLE pattern_shapes")
        c.execute("DELETE FROM schema_migrations WHERE name = '0004_pattern_shapes'")
    store.db.close()
    reopened = PatternMemory.open(crowded_settings, embedder)  # type: ignore[arg-type]
    try:
        assert shape_score(reopened) == 1.0
        with reopened.store.db.atomic() as c:
            c.execute("DELETE FROM pattern_shapes")
        assert shape_score(reopened) < 1.0  # lexical only: `pop` is a shared name
        reopened.reindex()
        assert shape_score(reopened) == 1.0
        # Shapes made by other shape rules are rebuilt at the first search.
        with reopened.store.db.atomic() as c:
            c.execute("DELETE FROM pattern_shapes WHERE shingle % 2 = 0")
            c.execute("UPDATE meta SET value = 'older' WHERE key = 'shape_version'")
        fresh = PatternMemory.open(crowded_settings, embedder)  # type: ignore[arg-type]
        try:
            assert shape_score(fresh) == 1.0
            assert fresh.store.meta("shape_version") == SHAPE_VERSION
        finally:
            fresh.close()
        assert reopened.forget(DISTINCT.pattern_id)
        orphans = reopened.store.db.query(
            "SELECT count(*) FROM pattern_shapes WHERE pattern NOT IN (SELECT id FROM patterns)"
        )
        assert orphans == [(0,)]
        assert shape_score(reopened) == 0.0
    finally:
        reopened.close()
