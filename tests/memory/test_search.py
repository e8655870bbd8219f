"""Hybrid retrieval with the real model: relevance, threshold, filters, scope, fallback."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from pattern_memory.memory.db import DISABLE_VEC_ENV
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.filters import Scope
from pattern_memory.memory.metrics import LOOKUP_MS
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import PatternSource, ProblemType
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES, make_pattern

# (query a user would type or the code they are looking at, the message of the fix to find)
QUERIES = [
    ("the app crashes at startup when config.yaml does not exist", FIXES[0].commit_msg),
    ("last page shows one extra item", FIXES[1].commit_msg),
    ("requests to the API hang forever, add a timeout", FIXES[2].commit_msg),
    ("too many open database connections", FIXES[3].commit_msg),
    ("cross-site scripting in the search results page", FIXES[4].commit_msg),
    ("ZeroDivisionError when the list is empty", FIXES[7].commit_msg),
    # Code like the buggy code of a past fix, with other names.
    (
        "def read_settings(filename):\n    with open(filename) as fh:\n"
        "        return yaml.safe_load(fh)",
        FIXES[0].commit_msg,
    ),
    ("def mean(xs):\n    return sum(xs) / len(xs)", FIXES[7].commit_msg),
]


@pytest.fixture
def stocked(memory: PatternMemory) -> PatternMemory:
    memory.add_patterns(FIXES)
    return memory


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_a_query_like_a_past_fix_finds_that_fix_first(
    stocked: PatternMemory, query: str, expected: str
) -> None:
    hits = stocked.search(query)
    assert hits, f"nothing passed the default similarity {stocked.settings.similarity}"
    assert hits[0].stored.pattern.commit_msg == expected
    # The default threshold (0.6) is met by a realistic query, and scores are 0..1.
    assert stocked.settings.similarity <= hits[0].score <= 1.0


def test_an_unrelated_query_finds_nothing_at_the_default_threshold(stocked: PatternMemory) -> None:
    assert stocked.search("what a lovely sunny afternoon for a picnic in the park") == []


def test_scores_are_ordered_and_k_and_max_injected_bound_the_results(
    stocked: PatternMemory, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    loose = PatternMemory.open(
        dataclasses.replace(settings, similarity=0.0, max_injected=3), embedder
    )
    try:
        assert len(loose.search("fix a bug")) == 3
        hits = loose.search("fix a bug", k=6)
        assert len(hits) == 6
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
    finally:
        loose.close()


def test_the_problem_type_filter(stocked: PatternMemory) -> None:
    query = "add a dark theme option to the settings menu"
    assert stocked.search(query)[0].stored.pattern.problem_type is ProblemType.FEATURE_ADDITION
    for hit in stocked.search(query, problem_type=ProblemType.BUG_FIX):
        assert hit.stored.pattern.problem_type is ProblemType.BUG_FIX


def test_search_code_is_lexical_over_the_before_code(stocked: PatternMemory) -> None:
    hits = stocked.search_code("total = sum(values) / len(values)\nprint(total)")
    assert hits[0].stored.pattern.commit_msg == FIXES[7].commit_msg
    # No word of it in any pattern's before-code: nothing.
    assert stocked.search_code("lorem ipsum dolor sit amet") == []


def test_search_code_finds_a_pattern_inside_a_long_window(stocked: PatternMemory) -> None:
    filler = "\n".join(f"    log_line_{i} = format_entry(record, {i})" for i in range(25))
    window = (
        f"def report(record):\n{filler}\n\n\n"
        "def average(values):\n    return sum(values) / len(values)\n\n\n"
        f"def summary(record):\n{filler}\n"
    )
    hits = stocked.search_code(window)
    assert hits[0].stored.pattern.commit_msg == FIXES[7].commit_msg
    assert hits[0].score >= stocked.settings.similarity


def test_lookup_ms_is_measured(stocked: PatternMemory) -> None:
    stocked.search("config file missing")
    stocked.search_code("def load_config(path):")
    timing = stocked.metrics.timing(LOOKUP_MS)
    assert timing["count"] == 2
    assert 0 < timing["p50"] <= timing["p95"]
    assert stocked.stats().lookup_ms.count == 2


def test_metrics_add_up_across_processes(
    stocked: PatternMemory, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    stocked.search("config file missing")
    stocked.metrics.count("patterns.injected", 3)
    stocked.close()
    other = PatternMemory.open(settings, embedder)
    try:
        other.search_code("def load_config(path):")
        stats = other.stats()
        assert stats.lookup_ms.count == 2
        assert stats.lookup_ms.p95 >= stats.lookup_ms.p50 > 0
        assert stats.counters["patterns.injected"] == 3
    finally:
        other.close()


def test_a_user_sees_only_their_own_patterns_and_the_team_only_when_opted_in(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    alice = PatternMemory.open(dataclasses.replace(settings, user_id="alice"), embedder)
    bob = PatternMemory.open(dataclasses.replace(settings, user_id="bob"), embedder)
    bob_team = PatternMemory.open(
        dataclasses.replace(settings, user_id="bob", include_team=True), embedder
    )
    try:
        alice.add_patterns([FIXES[0]])
        team_fix = dataclasses.replace(FIXES[7], source=PatternSource.TEAM)
        alice.add_patterns([team_fix])
        query_own = "crash when the config file is missing"
        query_team = "ZeroDivisionError when the list is empty"
        assert alice.search(query_own)[0].stored.pattern.pattern_id == FIXES[0].pattern_id
        assert bob.search(query_own) == []
        assert bob.search(query_team) == []
        assert bob.search_code("sum(values) / len(values)") == []
        assert bob_team.search(query_team)[0].stored.pattern.pattern_id == team_fix.pattern_id
        assert bob_team.search(query_own) == []  # alice's own stay hers
    finally:
        for m in (alice, bob, bob_team):
            m.close()


def test_vectors_equal_sqlite_vec_exact_knn(stocked: PatternMemory) -> None:
    """The in-memory index answers what sqlite-vec's exact KNN answers."""
    store = stocked.store
    assert store.db.vec_available
    index = stocked._index
    index.refresh()
    rng = np.random.default_rng(7)
    for _ in range(5):
        query = rng.standard_normal(384).astype(np.float32)
        query /= np.linalg.norm(query)
        ours = index.nearest(query, 5, Scope("local", include_team=False))
        theirs = store.vectors.vec_knn(query.tobytes(), 5)
        assert [r for r, _ in ours] == [r for r, _ in theirs]
        assert np.allclose([s for _, s in ours], [1 - d for _, d in theirs], atol=1e-5)


FALLBACK_SCRIPT = """
import json, sys
from pathlib import Path
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
memory = PatternMemory.open(Settings(db_path=Path(sys.argv[1])), FastEmbedEmbedder())
print(json.dumps({
    "vec": memory.store.db.vec_version,
    "hits": [[[h.stored.pattern.pattern_id, h.score] for h in memory.search(q)]
             for q in json.loads(sys.argv[2])],
}))
"""


def test_without_sqlite_vec_the_fallback_gives_the_same_results(
    stocked: PatternMemory, settings: Settings
) -> None:
    queries = [q for q, _ in QUERIES]
    expected = [
        [[h.stored.pattern.pattern_id, h.score] for h in stocked.search(q)] for q in queries
    ]
    stocked.close()
    import json
    import os

    env = {**os.environ, DISABLE_VEC_ENV: "1"}
    run = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, str(settings.db_path), json.dumps(queries)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["vec"] is None
    assert "sqlite-vec is not available" in run.stderr  # said once, in the log
    assert run.stderr.count("sqlite-vec is not available") == 1
    for ours, theirs in zip(expected, result["hits"], strict=True):
        assert [i for i, _ in ours] == [i for i, _ in theirs]
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_patterns_added_without_sqlite_vec_reach_the_vector_table_later(
    settings: Settings, embedder: FastEmbedEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_VEC_ENV, "1")
    fallback = PatternMemory.open(settings, embedder)
    fallback.add_patterns(FIXES)
    assert fallback.search("last page shows one extra item")[0].stored.pattern == FIXES[1]
    fallback.close()
    monkeypatch.delenv(DISABLE_VEC_ENV)
    with_vec = PatternMemory.open(settings, embedder)
    try:
        assert with_vec.store.db.vec_available
        assert with_vec.search("last page shows one extra item")[0].stored.pattern == FIXES[1]
        assert with_vec.store.vectors.vector_index_consistent()
    finally:
        with_vec.close()


def test_duplicate_team_and_own_copies_are_shown_once(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    memory = PatternMemory.open(dataclasses.replace(settings, include_team=True), embedder)
    try:
        own = FIXES[1]
        team = dataclasses.replace(
            make_pattern("Team: pagination off by one", own.before_code, own.after_code),
            source=PatternSource.TEAM,
        )
        memory.add_patterns([own])
        # Same change from the team server: stored under another scope, shown once.
        memory.store.upsert([(team, "pagination off by one")], "teammate", "2024-03-01 00:00:00")
        memory.reindex()
        hits = memory.search("pagination returns one item too many", k=5)
        hashes = [h.stored.pattern.solution_hash for h in hits]
        assert hashes.count(own.solution_hash) == 1
    finally:
        memory.close()
