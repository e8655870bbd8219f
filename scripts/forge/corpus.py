"""Reading the forge corpus (data/forge/*.jsonl) and labelling its sentences, shared by the
training and the evaluation scripts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "data" / "forge" / "answers.jsonl"
HANDWRITTEN = ROOT / "data" / "forge" / "handwritten.jsonl"


def load(path: Path = ANSWERS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[*_`]", "", text).lower().split())


def sentence_labels(answer: dict[str, Any], texts: list[str]) -> tuple[list[int], list[int]]:
    """(fix, problem) label per prose sentence: 1 where the sentence holds a marker of the
    fix statement / the start of the problem."""
    if not answer["label"]:
        return [0] * len(texts), [0] * len(texts)
    markers = [_norm(m) for m in answer["markers"]]
    cause = _norm(answer["problem"] or "")[:30]
    fix = [int(any(m and m in _norm(t) for m in markers)) for t in texts]
    problem = [int(bool(cause) and cause in _norm(t)) for t in texts]
    return fix, problem


class CachedEmbedder:
    """The product's embedder with a disk cache of vectors by text (scripts only: the
    training and evaluation embed the same corpus again and again). The vectors are the
    model's own, so the cache changes nothing but the time."""

    def __init__(self, path: Path | None = None) -> None:
        import numpy as np

        from pattern_memory.memory.embedder import load_embedder

        self._np = np
        self._inner = load_embedder()
        self.model_id = self._inner.model_id
        self.dim = self._inner.dim
        self._path = path or Path("/tmp") / f"forge-embeddings-{abs(hash(self.model_id))}.npz"
        self._cache: dict[str, Any] = {}
        if self._path.exists():
            data = np.load(self._path, allow_pickle=False)
            self._cache = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: Any) -> Any:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._inner.embed(missing), strict=True):
                self._cache[text] = vector
        return self._np.array([self._cache[t] for t in texts], dtype=self._np.float32)

    def save(self) -> None:
        np = self._np
        texts = list(self._cache)
        np.savez(
            self._path, texts=np.array(texts), vectors=np.array([self._cache[t] for t in texts])
        )
