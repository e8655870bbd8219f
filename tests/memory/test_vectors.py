"""The in-memory vector index against sqlite-vec's exact KNN, on both of its paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pattern_memory.memory import vectors
from pattern_memory.memory.db import Database
from pattern_memory.memory.filters import Scope
from pattern_memory.memory.store import PatternStore
from pattern_memory.memory.vectors import VectorIndex
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id

DIM = 384
SCOPE = Scope("local", include_team=False)


def _fill(store: PatternStore, start: int, count: int, rng: np.random.Generator) -> None:
    patterns = [
        (
            Pattern(
                pattern_id=make_pattern_id("vector-test", str(i)),
                problem_type=ProblemType.BUG_FIX,
                before_code=f"value_{i} = compute({i})",
                after_code=f"value_{i} = compute({i} + 1)",
                commit_msg=f"Fix value {i}",
                author="t",
                date="2024-01-01 00:00:00",
                confidence=0.5,
            ),
            f"Fix value {i}",
        )
        for i in range(start, start + count)
    ]
    store.upsert(patterns, "local", "2026-01-01 00:00:00")
    rows = store.db.query(
        "SELECT id, lookup_hash FROM patterns WHERE vector_seq IS NULL ORDER BY id"
    )
    # Anisotropic vectors, like sentence embeddings: a few directions carry most variance.
    spectrum = np.arange(1, DIM + 1, dtype=np.float32) ** -0.6
    matrix = rng.standard_normal((len(rows), DIM)).astype(np.float32) * spectrum
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    store.vectors.save_vectors(
        "test-model", DIM, [(r, h, v.tobytes()) for (r, h), v in zip(rows, matrix, strict=True)]
    )


def _agreement(index: VectorIndex, store: PatternStore, rng: np.random.Generator) -> float:
    equal = 0
    for _ in range(40):
        query = (rng.standard_normal(DIM) * np.arange(1, DIM + 1) ** -0.6).astype(np.float32)
        query /= np.linalg.norm(query)
        ours = [r for r, _ in index.nearest(query, 5, SCOPE)]
        exact = [r for r, _ in store.vectors.vec_knn(query.tobytes(), 5)]
        equal += ours == exact
    return equal / 40


@pytest.mark.parametrize("exact_limit", [100_000, 1_000])
def test_top5_equals_sqlite_vec_exact_knn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_limit: int
) -> None:
    """Exact scan, and (limit lowered) the PCA first pass + exact re-rank, including
    vectors appended after the projection was fitted."""
    monkeypatch.setattr(vectors, "EXACT_SCAN_LIMIT", exact_limit)
    rng = np.random.default_rng(11)
    store = PatternStore(Database(tmp_path / "v.db"))
    _fill(store, 0, 2500, rng)
    index = VectorIndex(store.vectors)
    index.refresh()
    assert (index._basis is not None) == (exact_limit < 2500)
    assert _agreement(index, store, rng) >= 0.95
    _fill(store, 2500, 500, rng)  # appended: projected with the fitted basis
    index.refresh()
    assert len(index) == 3000
    assert _agreement(index, store, rng) >= 0.95
    store.db.close()
