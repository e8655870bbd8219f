"""The in-memory vector index: a float32 matrix of every embedded pattern's vector, kept in
step with the database, searched by one matrix-vector product.

The database stays the source of truth (the sqlite-vec table, or the embedding cache when
the extension cannot load); this index is rebuilt from it lazily and refreshed by the
database's vector counters: new vectors are appended, a changed epoch (reindex, forget,
model change) reloads everything. Cosine similarity = dot product (vectors are L2-normed),
exact, so its answers equal sqlite-vec's exact KNN and the fallback's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from .store import PatternStore, Scope

FloatArray = npt.NDArray[np.float32]


class VectorIndex:
    def __init__(self, store: PatternStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._epoch = -1
        self._seq = 0
        self._count = 0
        self._matrix: FloatArray = np.zeros((0, 0), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int32)  # interned user id per row
        self._team = np.zeros(0, dtype=bool)
        self._owner_codes: dict[str, int] = {}
        self._position: dict[int, int] = {}

    def __len__(self) -> int:
        return self._count

    def refresh(self) -> None:
        """Bring the matrix up to date with the database (cheap when nothing changed)."""
        epoch, seq, _model = self._store.vector_state()
        with self._lock:
            if epoch != self._epoch:
                self._reset()
                self._epoch = epoch
            if seq > self._seq:
                self._append(self._store.vectors_after(self._seq))
                self._seq = seq

    def _reset(self) -> None:
        self._seq = 0
        self._count = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int32)
        self._team = np.zeros(0, dtype=bool)
        self._position = {}

    def _append(self, rows: list[tuple[int, int, str, str, bytes]]) -> None:
        if not rows:
            return
        vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32)
        dim = vectors.size // len(rows)
        vectors = vectors.reshape(len(rows), dim)
        needed = self._count + len(rows)
        if self._matrix.shape[0] < needed or self._matrix.shape[1] != dim:
            capacity = max(needed, 2 * self._matrix.shape[0], 1024)
            matrix = np.zeros((capacity, dim), dtype=np.float32)
            row_ids = np.zeros(capacity, dtype=np.int64)
            owners = np.zeros(capacity, dtype=np.int32)
            team = np.zeros(capacity, dtype=bool)
            if self._count:
                matrix[: self._count] = self._matrix[: self._count]
                row_ids[: self._count] = self._row_ids[: self._count]
                owners[: self._count] = self._owners[: self._count]
                team[: self._count] = self._team[: self._count]
            self._matrix, self._row_ids, self._owners, self._team = matrix, row_ids, owners, team
        for offset, (row_id, _seq, user_id, source, _blob) in enumerate(rows):
            position = self._position.get(row_id)
            if position is None:
                position = self._count
                self._count += 1
                self._position[row_id] = position
            self._matrix[position] = vectors[offset]
            self._row_ids[position] = row_id
            self._owners[position] = self._owner_codes.setdefault(user_id, len(self._owner_codes))
            self._team[position] = source == "team"

    def _scope_mask(self, scope: Scope) -> npt.NDArray[np.bool_] | None:
        code = self._owner_codes.get(scope.user_id, -1)
        owners = self._owners[: self._count]
        if len(self._owner_codes) == 1 and code == 0:
            return None  # every vector is the user's own
        mask: npt.NDArray[np.bool_] = owners == code
        if scope.include_team:
            mask |= self._team[: self._count]
        return mask

    def nearest(self, query: FloatArray, k: int, scope: Scope) -> list[tuple[int, float]]:
        """The k most similar patterns in scope: (row id, cosine similarity), best first."""
        with self._lock:
            if self._count == 0 or k <= 0:
                return []
            scores = self._matrix[: self._count] @ query.astype(np.float32, copy=False)
            mask = self._scope_mask(scope)
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            k = min(k, self._count)
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [
                (int(self._row_ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])
            ]

    def similarities(self, query: FloatArray, row_ids: Iterable[int]) -> dict[int, float]:
        """Cosine similarity of the query to each given pattern that has a vector."""
        with self._lock:
            found = [(r, self._position[r]) for r in row_ids if r in self._position]
            if not found:
                return {}
            positions = np.array([p for _, p in found], dtype=np.int64)
            scores = self._matrix[positions] @ query.astype(np.float32, copy=False)
            return {r: float(s) for (r, _), s in zip(found, scores, strict=True)}
