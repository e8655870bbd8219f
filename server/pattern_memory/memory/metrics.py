"""The seed's metrics: counters ("patterns.injected", "patterns.forged") and the lookup time
("patterns.lookup_ms": last, p50, p95, count over a window of recent lookups).

Thread-safe. Counters and timing samples are also written to the database now and then
(PatternMemory.flush_metrics), so that `pattern-memory stats` shows totals and recent timings
across every process that used the database.
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
        self._unflushed_samples: dict[str, list[float]] = {}

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + by
            self._unflushed[name] = self._unflushed.get(name, 0) + by

    def observe(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self._timings.setdefault(name, deque(maxlen=TIMING_WINDOW)).append(milliseconds)
            self._timing_counts[name] = self._timing_counts.get(name, 0) + 1
            self._unflushed_samples.setdefault(name, []).append(milliseconds)

    def counter(self, name: str) -> int:
        with self._lock:
            return self._counters.get(name, 0)

    def timing(self, name: str) -> dict[str, float]:
        """last, p50, p95 (milliseconds) and count; zeros before the first observation."""
        with self._lock:
            samples = list(self._timings.get(name, ()))
            count = self._timing_counts.get(name, 0)
        return summarize(samples, count)

    def take_unflushed(self) -> tuple[dict[str, int], dict[str, list[float]]]:
        """Counter increments and timing samples since the last call."""
        with self._lock:
            counters, self._unflushed = self._unflushed, {}
            samples, self._unflushed_samples = self._unflushed_samples, {}
        return counters, samples

    def keep_unflushed(self, counters: dict[str, int], samples: dict[str, list[float]]) -> None:
        """Give back what take_unflushed returned when it could not be written (next time)."""
        with self._lock:
            for name, value in counters.items():
                self._unflushed[name] = self._unflushed.get(name, 0) + value
            for name, values in samples.items():
                self._unflushed_samples[name] = values + self._unflushed_samples.get(name, [])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counters = dict(self._counters)
            names = list(self._timings)
        out: dict[str, Any] = {INJECTED: 0, FORGED: 0, **counters}
        for name in {LOOKUP_MS, *names}:
            out[name] = self.timing(name)
        return out


def summarize(samples: list[float], count: int) -> dict[str, float]:
    if not samples:
        return {"last": 0.0, "p50": 0.0, "p95": 0.0, "count": 0}
    p50, p95 = np.percentile(np.array(samples), [50, 95])
    return {"last": samples[-1], "p50": float(p50), "p95": float(p95), "count": count}
