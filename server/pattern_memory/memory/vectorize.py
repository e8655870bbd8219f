"""Give every stored pattern its vector: from the embedding cache when the same text (for
the same model) was embedded before, else from the model in small batches of similar length
(padding makes a batch cost as much as its longest text; small batches bound memory)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .embedder import Embedder
from .store import PatternStore, UnembeddedRow

BATCH_SIZE = 32
CHUNK = 512  # patterns fetched and saved per transaction


@dataclass
class VectorizeResult:
    embedded: int = 0
    from_cache: int = 0


def vectorize_pending(
    store: PatternStore,
    embedder: Embedder,
    lock: threading.Lock,
    cancel: threading.Event | None = None,
) -> VectorizeResult:
    """Embed every pattern that has no vector yet; stops early (consistently) on cancel."""
    result = VectorizeResult()
    while not (cancel and cancel.is_set()):
        rows = store.unembedded(CHUNK)
        if not rows:
            break
        cached = store.cached_vectors(embedder.model_id, [r.lookup_hash for r in rows])
        missing = [r for r in rows if r.lookup_hash not in cached]
        fresh = _embed(embedder, missing, lock)
        cached.update(fresh)
        store.save_vectors(
            embedder.model_id,
            embedder.dim,
            [(r.row_id, r.lookup_hash, cached[r.lookup_hash]) for r in rows],
        )
        result.embedded += len(fresh)
        result.from_cache += len(rows) - len(missing)
    return result


def _embed(embedder: Embedder, rows: list[UnembeddedRow], lock: threading.Lock) -> dict[str, bytes]:
    texts: dict[str, str] = {}
    for row in rows:
        texts.setdefault(row.lookup_hash, row.lookup_text)
    ordered = sorted(texts.items(), key=lambda item: len(item[1]))
    out: dict[str, bytes] = {}
    for start in range(0, len(ordered), BATCH_SIZE):
        batch = ordered[start : start + BATCH_SIZE]
        with lock:
            vectors = np.asarray(embedder.embed([text for _, text in batch]), dtype=np.float32)
        for (hash_, _), vector in zip(batch, vectors, strict=True):
            out[hash_] = vector.tobytes()
    return out
