"""SQL for the metrics every process adds to: counters (metric_counters) and the last
timing samples per name (metric_samples), so that `stats` sees all processes' numbers."""

from __future__ import annotations

from .db import Database


class MetricsStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def add_metrics(
        self,
        counters: dict[str, int],
        samples: dict[str, list[float]],
        at: str,
        keep: int,
        *,
        wait: bool = True,
    ) -> None:
        """Add counter increments and timing samples (keeping the last `keep` per name).
        wait=False: StoreError at once when another connection holds the write lock."""
        with self.db.atomic(wait=wait) as c:
            for name, value in counters.items():
                c.execute(
                    "INSERT INTO metric_counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET value = value + excluded.value",
                    (name, value),
                )
            for name, values in samples.items():
                c.executemany(
                    "INSERT INTO metric_samples (name, value, recorded_at) VALUES (?, ?, ?)",
                    [(name, v, at) for v in values],
                )
                c.execute(
                    "DELETE FROM metric_samples WHERE name = ? AND id <= (SELECT id FROM "
                    "metric_samples WHERE name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (name, name, keep),
                )

    def metric_samples(self, name: str) -> list[float]:
        rows = self.db.query("SELECT value FROM metric_samples WHERE name = ? ORDER BY id", (name,))
        return [float(r[0]) for r in rows]

    def persisted_counters(self) -> dict[str, int]:
        return {str(n): int(v) for n, v in self.db.query("SELECT name, value FROM metric_counters")}
