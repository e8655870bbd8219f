"""SQL for code shapes: each pattern's template shingles (matching/shape.py) and the search
that finds the patterns whose shape stands in a piece of code, whatever its names.

Table pattern_shapes (shingle, size, pattern): one row per shingle of a pattern (patterns.id),
`size` being how many shingles the pattern has. The key orders each shingle's postings by
size, so that a shingle shared by thousands of patterns is read only for its smallest
patterns: those are the ones a window can contain whole (a long pattern usually also has a
rarer shingle through which it is found), and identical small shapes are interchangeable.
The table is derived from the patterns table and can be rebuilt at any time.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from ..matching.shape import SHAPE_VERSION, pattern_shingles
from .db import Database, row_values

log = logging.getLogger(__name__)

SHAPE_VERSION_KEY = "shape_version"
# Postings read per shingle of the query (its patterns with the fewest shingles).
POSTINGS_PER_SHINGLE = 128


def add_shapes(
    c: apsw.Connection, row_id: int, before_code: str, after_code: str, language: str
) -> None:
    """Inside the caller's transaction: index the shape of the pattern stored as `row_id`."""
    found = pattern_shingles(before_code, after_code, language)
    c.executemany(
        "INSERT OR IGNORE INTO pattern_shapes (shingle, size, pattern) VALUES (?, ?, ?)",
        [(shingle, len(found), row_id) for shingle in sorted(found)],
    )


def forget_shapes(c: apsw.Connection, row_id: int) -> None:
    c.execute("DELETE FROM pattern_shapes WHERE pattern = ?", (row_id,))


def fill_shapes(c: apsw.Connection) -> int:
    """Index the shape of every pattern that has none yet; returns how many were read.
    Filling an empty table makes every shape current (SHAPE_VERSION)."""
    empty = not c.execute("SELECT 1 FROM pattern_shapes LIMIT 1").fetchall()
    rows = c.execute(
        "SELECT id, before_code, after_code, language FROM patterns p WHERE NOT EXISTS "
        "(SELECT 1 FROM pattern_shapes s WHERE s.pattern = p.id) ORDER BY id"
    ).fetchall()
    for row in rows:
        row_id, before_code, after_code, language = row_values(row)
        add_shapes(c, int(row_id), str(before_code), str(after_code), str(language))
    if empty:
        c.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (SHAPE_VERSION_KEY, SHAPE_VERSION),
        )
    return len(rows)


@dataclass(frozen=True, slots=True)
class ShapeFit:
    # Share of the pattern's shingles found in the query: 1.0 when its before-code may stand
    # there under some names, lower when it cannot.
    containment: float
    # Equal for patterns of the same shape (same shingle count and sum of their low bits).
    shape: tuple[int, int]

    @property
    def whole(self) -> bool:
        return self.containment >= 1.0


class ShapeStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self._checked = False

    def ensure_current(self) -> None:
        """Rebuild the shapes once if they were made by other shape rules."""
        if self._checked:
            return
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (SHAPE_VERSION_KEY,))
        if not rows or str(rows[0][0]) != SHAPE_VERSION:
            log.info("code shapes made by other rules: rebuilding them")
            self.rebuild()
        self._checked = True

    def rebuild(self) -> int:
        """Index every pattern's shape again (after the shape rules changed)."""
        with self.db.atomic() as c:
            c.execute("DELETE FROM pattern_shapes")
            return fill_shapes(c)

    def candidates(
        self,
        shingles: Iterable[int],
        limit: int,
        eligible: tuple[str, Sequence[Any]] = ("1", ()),
    ) -> list[int]:
        """Row ids of patterns sharing shingles with the query, those most contained in it
        (by the postings read) first, then the more specific. eligible: a WHERE clause over
        `patterns p` (store.eligible_sql) applied to the postings read, so that patterns a
        search may not return do not use up POSTINGS_PER_SHINGLE."""
        self.ensure_current()
        where, where_args = eligible
        partial: Counter[int] = Counter()
        sizes: dict[int, int] = {}
        connection = self.db.connection()
        # Most of a window's shingles are in no pattern: one query leaves only the others.
        known = [
            int(row[0])
            for row in connection.execute(
                "SELECT DISTINCT shingle FROM pattern_shapes "
                "WHERE shingle IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(set(shingles))),),
            )
        ]
        for shingle in known:
            for size, row_id in connection.execute(
                "SELECT s.size, s.pattern FROM pattern_shapes s "
                "JOIN patterns p ON p.id = s.pattern "
                f"WHERE s.shingle = ? AND {where} ORDER BY s.size, s.pattern LIMIT ?",
                (shingle, *where_args, POSTINGS_PER_SHINGLE),
            ):
                partial[row_id] += 1
                sizes[row_id] = size
        ranked = sorted(partial, key=lambda r: (-partial[r] / sizes[r], -sizes[r], r))
        return [int(r) for r in ranked[:limit]]

    def fits(self, row_ids: Iterable[int], shingles: Iterable[int]) -> dict[int, ShapeFit]:
        """How each pattern's shape fits the query (patterns without a shape are left out)."""
        ids, query = sorted(set(row_ids)), sorted(set(shingles))
        if not ids or not query:
            return {}
        rows = self.db.query(
            "SELECT pattern, max(size), sum(shingle IN (SELECT value FROM json_each(?))), "
            "sum(shingle % 4294967296) FROM pattern_shapes INDEXED BY pattern_shapes_pattern "
            "WHERE pattern IN (SELECT value FROM json_each(?)) GROUP BY pattern",
            (json.dumps(query), json.dumps(ids)),
        )
        return {
            int(r): ShapeFit(int(shared) / int(size), (int(size), int(checksum)))
            for r, size, shared, checksum in rows
        }
