"""Stand-ins for tests that do not test embedding: a deterministic Embedder with the real
one's interface (memory/embedder.py's Protocol), so that such tests need not load the ONNX
model. Tests of search quality and of the model itself use the real FastEmbedEmbedder."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Bag-of-words vectors: each word hashed into one of `dim` buckets, L2-normalized, so
    texts sharing words are close and equal texts embed equally (as the real model's
    vectors are unit length, float32, (n, dim))."""

    def __init__(self, dim: int = 384, model_id: str = "test/hashed-words-v1") -> None:
        self.dim = dim
        self.model_id = model_id

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()) or [""]:
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)
