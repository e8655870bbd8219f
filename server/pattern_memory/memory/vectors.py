"""The in-memory vector index: a float32 matrix of every embedded pattern's vector, kept in
step with the database, searched by one matrix-vector product.

The database stays the source of truth (the sqlite-vec table, or the embedding cache when
the extension cannot load); this index is rebuilt from it lazily and refreshed by the
database's vector counters: new vectors are appended, a changed epoch (reindex, forget,
model change) reloads everything. Cosine similarity = dot product (vectors are L2-normed),
exact, so its answers equal sqlite-vec's exact KNN and the fallback's.

Large indexes (more than EXACT_SCAN_LIMIT vectors) first score every vector in a PCA-reduced
space (REDUCED_DIM dimensions, a quarter of the bytes to read), then re-rank the best
max(RERANK_MIN, 4k) candidates with the exact vectors: the answers are exact cosines and,
as measured in scripts/bench/bench_search.py, the top 5 equal exact search on nearly every
query. The projection is fitted on a sample (deterministic for a given content) and again
whenever the index has doubled since. Matrix-vector products run on one BLAS thread: they
are memory-bound, and a second thread only waits for a core on a busy machine.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Iterable

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from .filters import Filters, Scope
from .lifecycle import Decay
from .vector_store import IndexedVector, VectorStore

FloatArray = npt.NDArray[np.float32]

EXACT_SCAN_LIMIT = 20_000
REDUCED_DIM = 96
RERANK_MIN = 200
TRAIN_SAMPLE = 20_000
_BLAS = ThreadpoolController()
_OLDEST = np.datetime64("0001-01-01T00:00:00", "s")


def _times(texts: list[str]) -> npt.NDArray[np.datetime64]:
    """DATE_FORMAT texts as datetime64 seconds."""
    return np.array([t.replace(" ", "T") for t in texts], dtype="datetime64[s]")


class VectorIndex:
    def __init__(self, store: VectorStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._epoch = -1
        self._seq = 0
        self._count = 0
        self._matrix: FloatArray = np.zeros((0, 0), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int32)  # interned user id per row
        self._team = np.zeros(0, dtype=bool)
        self._evidence = np.zeros(0, dtype="datetime64[s]")  # last_evidence per row
        # Interned (owner, repository) whose clock a mined row ages against; -1: wall clock.
        self._clocks = np.zeros(0, dtype=np.int32)
        self._evidence_generation = -1
        self._kinds = np.zeros(0, dtype=np.int32)  # interned problem type per row
        self._clock_codes: dict[tuple[str, str], int] = {}
        self._owner_codes: dict[str, int] = {}
        self._kind_codes: dict[str, int] = {}
        self._position: dict[int, int] = {}
        # PCA projection for large indexes: mean, (dim, REDUCED_DIM) basis, reduced rows.
        self._mean: FloatArray | None = None
        self._basis: FloatArray | None = None
        self._reduced: FloatArray = np.zeros((0, 0), dtype=np.float32)
        self._fitted_at = 0

    def __len__(self) -> int:
        return self._count

    def refresh(self) -> None:
        """Bring the matrix up to date with the database (cheap when nothing changed)."""
        state = self._store.vector_state()
        epoch, seq = state.epoch, state.seq
        generation = self._store.evidence_generation()
        with self._lock:
            if epoch != self._epoch:
                self._reset()
                self._epoch = epoch
            if generation != self._evidence_generation:
                # Evidence only grows (a repeat, a use) and reverts are rare: re-read it all.
                if self._count:
                    self._reload_evidence()
                self._evidence_generation = generation
            if seq > self._seq:
                self._append(self._store.vectors_after(self._seq))
                self._seq = seq
            if self._count > EXACT_SCAN_LIMIT and self._count >= 2 * self._fitted_at:
                self._fit_projection()

    def _reset(self) -> None:
        self._seq = 0
        self._count = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int32)
        self._team = np.zeros(0, dtype=bool)
        self._evidence = np.zeros(0, dtype="datetime64[s]")
        self._clocks = np.zeros(0, dtype=np.int32)
        self._kinds = np.zeros(0, dtype=np.int32)
        self._position = {}
        self._mean = self._basis = None
        self._reduced = np.zeros((0, 0), dtype=np.float32)
        self._fitted_at = 0

    def _fit_projection(self) -> None:
        matrix = self._matrix[: self._count]
        rng = np.random.default_rng(self._count)
        sample = matrix[np.sort(rng.choice(self._count, min(TRAIN_SAMPLE, self._count), False))]
        mean = sample.mean(axis=0)
        centered = sample - mean
        with _BLAS.limit(limits=1, user_api="blas"):
            _values, vectors = np.linalg.eigh(centered.T @ centered)
            basis = np.ascontiguousarray(vectors[:, ::-1][:, :REDUCED_DIM], dtype=np.float32)
            reduced = np.zeros((self._matrix.shape[0], REDUCED_DIM), dtype=np.float32)
            for start in range(0, self._count, 8192):
                stop = min(self._count, start + 8192)
                reduced[start:stop] = (matrix[start:stop] - mean) @ basis
        self._mean, self._basis, self._reduced = mean.astype(np.float32), basis, reduced
        self._fitted_at = self._count

    def _append(self, rows: list[IndexedVector]) -> None:
        if not rows:
            return
        vectors = np.frombuffer(b"".join(r.vector for r in rows), dtype=np.float32)
        dim = vectors.size // len(rows)
        vectors = vectors.reshape(len(rows), dim)
        needed = self._count + len(rows)
        if self._matrix.shape[0] < needed or self._matrix.shape[1] != dim:
            capacity = max(needed, 2 * self._matrix.shape[0], 1024)
            matrix = np.zeros((capacity, dim), dtype=np.float32)
            row_ids = np.zeros(capacity, dtype=np.int64)
            owners = np.zeros(capacity, dtype=np.int32)
            team = np.zeros(capacity, dtype=bool)
            evidence = np.zeros(capacity, dtype="datetime64[s]")
            clocks = np.zeros(capacity, dtype=np.int32)
            kinds = np.zeros(capacity, dtype=np.int32)
            if self._count:
                matrix[: self._count] = self._matrix[: self._count]
                row_ids[: self._count] = self._row_ids[: self._count]
                owners[: self._count] = self._owners[: self._count]
                team[: self._count] = self._team[: self._count]
                evidence[: self._count] = self._evidence[: self._count]
                clocks[: self._count] = self._clocks[: self._count]
                kinds[: self._count] = self._kinds[: self._count]
            self._matrix, self._row_ids, self._owners, self._team = matrix, row_ids, owners, team
            self._evidence, self._clocks, self._kinds = evidence, clocks, kinds
            if self._basis is not None:
                reduced = np.zeros((capacity, REDUCED_DIM), dtype=np.float32)
                reduced[: self._count] = self._reduced[: self._count]
                self._reduced = reduced
        positions = np.empty(len(rows), dtype=np.int64)
        for offset, row in enumerate(rows):
            position = self._position.get(row.row_id)
            if position is None:
                position = self._position[row.row_id] = self._count
                self._count += 1
            positions[offset] = position
        codes = self._owner_codes
        self._matrix[positions] = vectors
        kind_codes = self._kind_codes
        self._row_ids[positions] = [r.row_id for r in rows]
        self._owners[positions] = [codes.setdefault(r.user_id, len(codes)) for r in rows]
        self._team[positions] = [r.source == "team" for r in rows]
        self._evidence[positions] = _times([r.last_evidence for r in rows])
        clock_codes = self._clock_codes
        self._clocks[positions] = [
            clock_codes.setdefault((r.user_id, r.repository), len(clock_codes))
            if r.source == "git"
            else -1
            for r in rows
        ]
        self._kinds[positions] = [
            kind_codes.setdefault(r.problem_type, len(kind_codes)) for r in rows
        ]
        if self._basis is not None and self._mean is not None:
            self._reduced[positions] = (vectors - self._mean) @ self._basis

    def _reload_evidence(self) -> None:
        rows = [(self._position[r], t) for r, t in self._store.evidence() if r in self._position]
        if rows:
            positions = np.array([p for p, _ in rows], dtype=np.int64)
            self._evidence[positions] = _times([t for _, t in rows])

    def _fresh_mask(self, decay: Decay) -> npt.NDArray[np.bool_]:
        """Rows whose latest evidence is within decay.days of their clock (store.fresh_sql)."""
        clocks = self._store.repository_clocks()
        # Slot 0: the wall clock; slot code + 1: a repository's (always fresh without one,
        # as the store's SQL has it).
        thresholds = np.full(len(self._clock_codes) + 1, _OLDEST, dtype="datetime64[s]")
        thresholds[0] = _times([decay.since(decay.now)])[0]
        for key, code in self._clock_codes.items():
            newest = clocks.get(key)
            if newest is not None:
                thresholds[code + 1] = _times([decay.since(newest)])[0]
        count = self._count
        fresh: npt.NDArray[np.bool_] = (
            self._evidence[:count] >= thresholds[self._clocks[:count] + 1]
        )
        return fresh

    def _scope_mask(self, scope: Scope) -> npt.NDArray[np.bool_] | None:
        code = self._owner_codes.get(scope.user_id, -1)
        owners = self._owners[: self._count]
        if len(self._owner_codes) == 1 and code == 0:
            return None  # every vector is the user's own
        mask: npt.NDArray[np.bool_] = owners == code
        if scope.include_team:
            mask |= self._team[: self._count]
        return mask

    def _filter_mask(
        self, filters: Filters, excluded: Collection[int]
    ) -> npt.NDArray[np.bool_] | None:
        """The search's filters as a mask: scope, decay, problem type, and the rows its
        record excludes (retired, low success rate, reverted; PatternStore.excluded_by_record)."""
        mask = self._scope_mask(filters.scope)
        count = self._count
        conditions: list[npt.NDArray[np.bool_]] = []
        if filters.decay.on and not filters.include_stale:
            conditions.append(self._fresh_mask(filters.decay))
        if filters.problem_type is not None:
            code = self._kind_codes.get(filters.problem_type, -1)
            conditions.append(self._kinds[:count] == code)
        if excluded:
            ids = np.fromiter(excluded, dtype=np.int64, count=len(excluded))
            conditions.append(~np.isin(self._row_ids[:count], ids))
        for condition in conditions:
            mask = condition if mask is None else mask & condition
        return mask

    def nearest(
        self,
        query: FloatArray,
        k: int,
        scope: Scope,
        *,
        filters: Filters | None = None,
        excluded: Collection[int] = (),
    ) -> list[tuple[int, float]]:
        """The k most similar patterns in scope (and passing `filters` when given, less the
        `excluded` rows): (row id, cosine similarity), best first. The filters are a mask,
        so k counts only eligible patterns."""
        with self._lock:
            if self._count == 0 or k <= 0:
                return []
            query = query.astype(np.float32, copy=False)
            mask = (
                self._scope_mask(scope)
                if filters is None
                else self._filter_mask(dataclasses.replace(filters, scope=scope), excluded)
            )
            with _BLAS.limit(limits=1, user_api="blas"):
                if self._basis is not None and self._mean is not None:
                    candidates = self._reduced_candidates(query, max(RERANK_MIN, 4 * k), mask)
                    scores = np.full(self._count, -np.inf, dtype=np.float32)
                    scores[candidates] = self._matrix[candidates] @ query
                else:
                    scores = self._matrix[: self._count] @ query
                    if mask is not None:
                        scores = np.where(mask, scores, -np.inf)
            k = min(k, self._count)
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [
                (int(self._row_ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])
            ]

    def _reduced_candidates(
        self, query: FloatArray, wanted: int, mask: npt.NDArray[np.bool_] | None
    ) -> npt.NDArray[np.intp]:
        assert self._basis is not None and self._mean is not None
        approximate = self._reduced[: self._count] @ ((query - self._mean) @ self._basis)
        if mask is not None:
            approximate = np.where(mask, approximate, -np.inf)
        wanted = min(wanted, self._count)
        candidates = np.argpartition(-approximate, wanted - 1)[:wanted]
        return candidates[np.isfinite(approximate[candidates])]

    def similarities(self, query: FloatArray, row_ids: Iterable[int]) -> dict[int, float]:
        """Cosine similarity of the query to each given pattern that has a vector."""
        with self._lock:
            found = [(r, self._position[r]) for r in row_ids if r in self._position]
            if not found:
                return {}
            positions = np.array([p for _, p in found], dtype=np.int64)
            with _BLAS.limit(limits=1, user_api="blas"):
                scores = self._matrix[positions] @ query.astype(np.float32, copy=False)
            return {r: float(s) for (r, _), s in zip(found, scores, strict=True)}
