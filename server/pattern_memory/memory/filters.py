"""Which patterns a query sees, as SQL over `patterns p`: the user's scope (own, plus the
team's when opted in), freshness under decay, the success-rate filter, and the WHERE clause
of what a search may return."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..languages import spellings
from ..patterns import PatternSource
from .lifecycle import PRIOR_FAILURES, PRIOR_SUCCESSES, Decay

# The date a pattern ages against (lifecycle.py): a mined pattern's repository clock (the
# newest commit learned from it), the wall clock (the parameter) for forged and team ones.
CLOCK_SQL = (
    "(CASE WHEN p.source = 'git' THEN coalesce((SELECT c.newest FROM repository_clock c "
    "WHERE c.user_id = p.user_id AND c.repository = p.repository), p.last_evidence) "
    "ELSE ? END)"
)


@dataclass(frozen=True)
class Scope:
    """Whose patterns a query sees: the user's own, plus the team's when opted in."""

    user_id: str
    include_team: bool

    def sql(self, alias: str = "p") -> tuple[str, tuple[Any, ...]]:
        own = f"({alias}.user_id = ? AND {alias}.source != ?)"
        team = PatternSource.TEAM.value
        if self.include_team:
            return f"({own} OR {alias}.source = ?)", (self.user_id, team, team)
        return own, (self.user_id, team)


@dataclass(frozen=True)
class Filters:
    """The seed's filters, as the store applies them."""

    scope: Scope
    decay: Decay
    problem_type: str | None = None
    language: str | None = None  # the miner's name (languages.normalize_language)
    min_success_rate: float = 0.0
    include_stale: bool = False  # the CLI's search: stale patterns too, flagged
    include_reverted: bool = False  # ... and patterns of reverted commits, flagged


def fresh_sql(decay: Decay) -> tuple[str, tuple[Any, ...]]:
    """Whether a pattern (`patterns p`) is fresh: its latest evidence at most decay.days
    older than its clock."""
    if not decay.on:
        return "1", ()
    return f"(p.last_evidence >= datetime({CLOCK_SQL}, ?))", (decay.now, f"-{decay.days} days")


def rate_passes_sql(min_rate: float) -> tuple[str, tuple[Any, ...]]:
    """minSuccessRate judges a pattern by its record: one without outcomes yet passes (it
    ranks by the prior, below proven ones); one with outcomes needs its success rate (with
    the prior, lifecycle.success_rate) at least min_rate."""
    clause = "(p.uses = 0 OR (p.success_count + ?) >= ? * (p.success_count + p.failure_count + ?))"
    return clause, (PRIOR_SUCCESSES, min_rate, PRIOR_SUCCESSES + PRIOR_FAILURES)


def eligible_sql(filters: Filters) -> tuple[str, list[Any]]:
    """The WHERE clause (over `patterns p`) of the patterns a search may return."""
    where, params = filters.scope.sql()
    clauses = [where, "p.retired = 0"]
    args: list[Any] = [*params]
    if not filters.include_stale and filters.decay.on:
        fresh, fresh_args = fresh_sql(filters.decay)
        clauses.append(fresh)
        args.extend(fresh_args)
    if not filters.include_reverted:
        clauses.append("p.reverted_by IS NULL")
    if filters.problem_type is not None:
        clauses.append("p.problem_type = ?")
        args.append(filters.problem_type)
    if filters.language is not None:
        # As languages.normalize_language reads the stored name.
        clauses.append("lower(trim(p.language)) IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(sorted(spellings(filters.language))))
    rate, rate_args = rate_passes_sql(filters.min_success_rate)
    clauses.append(rate)
    args.extend(rate_args)
    return " AND ".join(clauses), args
