"""Give every stored pattern its vector: from the embedding cache when the same text (for
the same model) was embedded before, else from the model, a chunk of patterns at a time
(the embedder batches by length under a token budget, which bounds memory)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .embedder import Embedder
from .vector_store import UnembeddedRow, VectorStore

CHUNK = 512  # patterns fetched, embedded (in the embedder's batches) and saved at once

Progress = Callable[[int, int], None]  # progress(done, total)


@dataclass
class VectorizeResult:
    embedded: int = 0  # distinct texts the model embedded
    from_cache: int = 0  # patterns whose vector came from the cache


def vectorize_pending(
    store: VectorStore,
    embedder: Embedder,
    lock: threading.Lock,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> VectorizeResult:
    """Embed every pattern that has no vector yet; stops early (consistently) on cancel.
    progress(done, total) counts patterns."""
    result = VectorizeResult()
    total = store.count_unembedded() if progress else 0
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
        if progress:
            done = result.embedded + result.from_cache
            progress(done, max(total, done))
    return result


def _embed(embedder: Embedder, rows: list[UnembeddedRow], lock: threading.Lock) -> dict[str, bytes]:
    """One call per chunk: the embedder sorts by length and batches under its token budget."""
    texts: dict[str, str] = {}
    for row in rows:
        texts.setdefault(row.lookup_hash, row.lookup_text)
    if not texts:
        return {}
    with lock:
        vectors = np.asarray(embedder.embed(list(texts.values())), dtype=np.float32)
    return {hash_: vector.tobytes() for hash_, vector in zip(texts, vectors, strict=True)}
