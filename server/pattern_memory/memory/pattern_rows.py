"""Reading patterns: the patterns table's columns as one named row, the StoredPattern made of
it, and the row a pattern id names in a scope (store.py and the stores beside it read
patterns through these)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..patterns import LineRange, Pattern, PatternSource, ProblemType
from .db import Database
from .filters import CLOCK_SQL, Scope, fresh_sql
from .lifecycle import Decay, Lifecycle, success_rate
from .types import StoredPattern


class PatternRow(NamedTuple):
    """A pattern as `select_sql` reads it: the patterns table's columns in this order, then
    the two values it computes (the field names are the column names)."""

    pattern_id: str
    problem_type: str
    before_code: str
    after_code: str
    commit_msg: str
    author: str
    date: str
    confidence: float
    commit_sha: str
    file_path: str
    language: str
    before_lines: str | None  # LineRange as JSON
    after_lines: str | None
    solution_hash: str
    source: str
    repository: str
    user_id: str
    success_count: int
    failure_count: int
    uses: int
    last_used: str | None
    created_at: str
    retired: int
    evidence_count: int
    last_evidence: str
    reverted_by: str | None
    evidence_age_days: float  # computed: days the latest evidence lies behind its clock
    stale: int  # computed: evidence older than decayAfterDays (decay on)


_COMPUTED = ("evidence_age_days", "stale")
_COLUMNS = ", ".join(name for name in PatternRow._fields if name not in _COMPUTED)


# Days the latest evidence lies behind its clock (one parameter: the clock).
_EVIDENCE_AGE_SQL = f"max(0.0, julianday({CLOCK_SQL}) - julianday(p.last_evidence))"


def _age_days(value: Any) -> float:
    """The evidence age as StoredPattern and RankingRow hold it."""
    return round(float(value), 3)


def select_sql(decay: Decay) -> tuple[str, tuple[Any, ...]]:
    """The select list of a PatternRow over `patterns p`: its columns plus the computed
    evidence age (days behind the clock) and stale flag; and the list's parameters."""
    fresh, fresh_args = fresh_sql(decay)
    return (
        f"{_COLUMNS}, {_EVIDENCE_AGE_SQL}, NOT {fresh}",
        (decay.now, *fresh_args),
    )


class RankingRow(NamedTuple):
    """What a search ranks a candidate by, read before the whole pattern is (ranking_sql):
    only the hits are then read and decoded whole."""

    row_id: int
    pattern_id: str
    solution_hash: str
    success_count: int
    failure_count: int
    evidence_count: int
    evidence_age_days: float  # as StoredPattern's (_age_days)

    @property
    def success_rate(self) -> float:
        return success_rate(self.success_count, self.failure_count)


def ranking_sql(decay: Decay) -> tuple[str, tuple[Any, ...]]:
    """The select list of a RankingRow over `patterns p`, and its parameters."""
    return (
        "p.id, p.pattern_id, p.solution_hash, p.success_count, p.failure_count,"
        f" p.evidence_count, {_EVIDENCE_AGE_SQL}",
        (decay.now,),
    )


def to_ranking(values: Sequence[Any]) -> RankingRow:
    """The RankingRow of one row read with ranking_sql."""
    row_id, pattern_id, solution_hash, successes, failures, evidence, age = values
    return RankingRow(
        int(row_id),
        str(pattern_id),
        str(solution_hash),
        int(successes),
        int(failures),
        int(evidence),
        _age_days(age),
    )


def lines_json(value: LineRange | None) -> str | None:
    """A LineRange as the before_lines / after_lines columns hold it."""
    return json.dumps(value.to_json()) if value else None


def _line_range(value: str | None) -> LineRange | None:
    return LineRange.from_json(json.loads(value)) if value else None


def to_stored(values: Sequence[Any]) -> StoredPattern:
    """The StoredPattern of one row read with select_sql."""
    row = PatternRow._make(values)
    pattern = Pattern(
        pattern_id=row.pattern_id,
        problem_type=ProblemType(row.problem_type),
        before_code=row.before_code,
        after_code=row.after_code,
        commit_msg=row.commit_msg,
        author=row.author,
        date=row.date,
        confidence=float(row.confidence),
        commit=row.commit_sha,
        file_path=row.file_path,
        language=row.language,
        before_lines=_line_range(row.before_lines),
        after_lines=_line_range(row.after_lines),
        solution_hash=row.solution_hash,
        source=PatternSource(row.source),
        repository=row.repository,
    )
    return StoredPattern(
        pattern=pattern,
        user_id=row.user_id,
        lifecycle=Lifecycle(
            success_count=int(row.success_count),
            failure_count=int(row.failure_count),
            uses=int(row.uses),
            last_used=row.last_used,
            created_at=row.created_at,
            retired=bool(row.retired),
        ),
        evidence_count=int(row.evidence_count),
        last_evidence=row.last_evidence,
        reverted_by=row.reverted_by,
        evidence_age_days=_age_days(row.evidence_age_days),
        stale=bool(row.stale),
    )


def visible_row(db: Database, pattern_id: str, scope: Scope) -> int | None:
    """The row of `pattern_id` in the scope, the user's own copy before a team one."""
    where, params = scope.sql()
    rows = db.query(
        f"SELECT p.id FROM patterns p WHERE p.pattern_id = ? AND {where} "
        "ORDER BY (p.user_id = ? AND p.source != ?) DESC, p.id LIMIT 1",
        (pattern_id, *params, scope.user_id, PatternSource.TEAM.value),
    )
    return int(rows[0][0]) if rows else None
