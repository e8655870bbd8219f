"""What `PatternMemory.stats()` reports: counts, the database's versions and the metrics,
as named fields. `as_json()` is the one JSON shape, printed by `pattern-memory stats --json`
and returned (keys in camelCase) by the language server's `patternMemory.stats`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .metrics import LOOKUP_MS


@dataclass(frozen=True)
class LifecycleCounts:
    """The user's patterns by lifecycle state, each counted once."""

    active: int
    decayed: int  # latest evidence more than decayAfterDays behind its clock
    retired: int  # rarely helped: not searched
    reverted: int  # its commit was reverted: never offered


@dataclass(frozen=True)
class Timing:
    """A timing's last value and percentiles over the kept window, and how many were seen."""

    last: float
    p50: float
    p95: float
    count: int

    @classmethod
    def from_summary(cls, summary: dict[str, float]) -> Timing:
        """From metrics.summarize's dictionary."""
        return cls(
            last=summary["last"],
            p50=summary["p50"],
            p95=summary["p95"],
            count=int(summary["count"]),
        )


@dataclass(frozen=True)
class Stats:
    patterns: int  # every pattern the user sees (own; the team's when opted in)
    lifecycle: LifecycleCounts
    embedded: int  # patterns with a vector
    successes: int  # helpful or applied outcomes, summed over the patterns
    feedback: int  # outcomes recorded
    by_type: dict[str, int]  # problem type -> patterns, most first
    by_source: dict[str, int]  # git / forge / team... -> patterns
    repositories: dict[str, str]  # indexed repository -> the last commit mined
    db_path: str
    schema_version: str  # the last migration's name
    vec_version: str | None  # None: sqlite-vec not loaded (NumPy fallback)
    vector_model: str | None  # the model the stored vectors were made by
    counters: dict[str, int]  # metric counters (patterns.injected, patterns.forged, ...)
    lookup_ms: Timing  # search latency, over every process that used the database

    def as_json(self) -> dict[str, Any]:
        """The stats' JSON shape (snake_case keys; the language server camel-cases the top
        level): the lifecycle counts beside the others, the metrics under "metrics"."""
        return {
            "patterns": self.patterns,
            **dataclasses.asdict(self.lifecycle),
            "embedded": self.embedded,
            "successes": self.successes,
            "feedback": self.feedback,
            "by_type": dict(self.by_type),
            "by_source": dict(self.by_source),
            "repositories": dict(self.repositories),
            "db_path": self.db_path,
            "schema_version": self.schema_version,
            "vec_version": self.vec_version,
            "vector_model": self.vector_model,
            "metrics": {**self.counters, LOOKUP_MS: dataclasses.asdict(self.lookup_ms)},
        }
