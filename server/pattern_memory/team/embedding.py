"""The server's embeddings: texts of concurrent requests embedded together, and query vectors
remembered.

The model runs one batch at a time, off the event loop (it uses every core it is given).
What arrives while a batch runs waits and goes into the next one: one ONNX call for several
requests, with no fixed delay when the server is idle. A search query's vector depends only
on its text (the model never changes in a running server), so the most recent ones are kept
in an LRU.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..memory.embedder import Embedder

# Texts per model call: more would make the first request of a batch wait for the others.
MAX_BATCH_TEXTS = 32
QUERY_CACHE_ENTRIES = 4096  # 1.5 kB each (384 float32)


@dataclass
class _Waiting:
    texts: list[str]
    done: asyncio.Future[NDArray[np.float32]]


@dataclass
class BatchingEmbedder:
    load: Callable[[], Embedder]
    max_batch_texts: int = MAX_BATCH_TEXTS
    query_cache_entries: int = QUERY_CACHE_ENTRIES
    _embedder: Embedder | None = None
    _waiting: list[_Waiting] = field(default_factory=list)
    _worker: asyncio.Task[None] | None = None
    _queries: OrderedDict[str, NDArray[np.float32]] = field(default_factory=OrderedDict)

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.load()
        return self._embedder

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of `texts`, in order."""
        waiting = _Waiting(list(texts), asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="team-embedder")
        return await waiting.done

    async def embed_query(self, text: str) -> NDArray[np.float32]:
        vector = self._queries.get(text)
        if vector is None:
            vector = (await self.embed([text]))[0]
            self._queries[text] = vector
            while len(self._queries) > self.query_cache_entries:
                self._queries.popitem(last=False)
        self._queries.move_to_end(text)
        return vector

    def _embed_now(self, texts: list[str]) -> NDArray[np.float32]:
        return self.embedder().embed(texts)

    async def _work(self) -> None:
        while self._waiting:
            batch: list[_Waiting] = []
            count = 0
            while self._waiting and (
                not batch or count + len(self._waiting[0].texts) <= self.max_batch_texts
            ):
                batch.append(self._waiting.pop(0))
                count += len(batch[-1].texts)
            texts = [text for waiting in batch for text in waiting.texts]
            try:
                vectors = await asyncio.to_thread(self._embed_now, texts)
            except Exception as exc:
                for waiting in batch:
                    if not waiting.done.done():
                        waiting.done.set_exception(exc)
                continue
            start = 0
            for waiting in batch:
                end = start + len(waiting.texts)
                if not waiting.done.done():  # its request may have been cancelled
                    waiting.done.set_result(vectors[start:end])
                start = end
