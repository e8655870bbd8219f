"""The proxy's counters and histograms, rendered in the Prometheus text format."""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass, field

LOOKUP_BUCKETS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)
UPSTREAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    observed: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.observed += 1

    def render(self, name: str, help_text: str) -> list[str]:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{le="{bound:g}"}} {running}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.observed}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.observed}")
        return lines


class ProxyMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {
            "patterns_injected_total": 0,
            "patterns_forged_total": 0,
            "patterns_outcomes_total": 0,
            "proxy_requests_total": 0,
            "proxy_memory_errors_total": 0,
            "proxy_upstream_errors_total": 0,
            "proxy_lookup_timeouts_total": 0,
            "proxy_lookups_skipped_total": 0,
        }
        self.lookup_ms = Histogram(LOOKUP_BUCKETS_MS)
        self.upstream_seconds = Histogram(UPSTREAM_BUCKETS_S)

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + by

    def observe_lookup(self, milliseconds: float) -> None:
        with self._lock:
            self.lookup_ms.observe(milliseconds)

    def observe_upstream(self, seconds: float) -> None:
        with self._lock:
            self.upstream_seconds.observe(seconds)

    def render(self) -> str:
        with self._lock:
            lines: list[str] = []
            for name, value in self.counters.items():
                lines += [f"# TYPE {name} counter", f"{name} {value}"]
            lines += self.lookup_ms.render("patterns_lookup_ms", "pattern lookup time (ms)")
            lines += self.upstream_seconds.render(
                "proxy_upstream_latency_seconds", "time to the upstream's response headers"
            )
        return "\n".join(lines) + "\n"
