"""The seed's metrics: counters ("patterns.injected", "patterns.forged") and the lookup time
("patterns.lookup_ms": last, p50, p95, count over a window of recent lookups).

Thread-safe. Counters are also added to the database (see PatternMemory.flush_metrics) so
that `pattern-memory stats` can show totals across processes; timings are per process.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

INJECTED = "patterns.injected"
FORGED = "patterns.forged"
LOOKUP_MS = "patterns.lookup_ms"
TIMING_WINDOW = 1000


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._unflushed: dict[str, int] = {}
        self._timings: dict[str, deque[float]] = {}
        self._timing_counts: dict[str, int] = {}

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + by
            self._unflushed[name] = self._unflushed.get(name, 0) + by

    def observe(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self._timings.setdefault(name, deque(maxlen=TIMING_WINDOW)).append(milliseconds)
            self._timing_counts[name] = self._timing_counts.get(name, 0) + 1

    def counter(self, name: str) -> int:
        with self._lock:
            return self._counters.get(name, 0)

    def timing(self, name: str) -> dict[str, float]:
        """last, p50, p95 (milliseconds) and count; zeros before the first observation."""
        with self._lock:
            samples = list(self._timings.get(name, ()))
            count = self._timing_counts.get(name, 0)
        if not samples:
            return {"last": 0.0, "p50": 0.0, "p95": 0.0, "count": 0}
        p50, p95 = np.percentile(np.array(samples), [50, 95])
        return {"last": samples[-1], "p50": float(p50), "p95": float(p95), "count": count}

    def take_unflushed(self) -> dict[str, int]:
        with self._lock:
            taken, self._unflushed = self._unflushed, {}
        return taken

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counters = dict(self._counters)
            names = list(self._timings)
        out: dict[str, Any] = {INJECTED: 0, FORGED: 0, **counters}
        for name in {LOOKUP_MS, *names}:
            out[name] = self.timing(name)
        return out
