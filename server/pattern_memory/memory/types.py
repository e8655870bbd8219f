"""The memory's public value types (the contract in docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..patterns import Pattern
from .lifecycle import Lifecycle, Outcome

__all__ = ["ImportReport", "Lifecycle", "Outcome", "SaveStatus", "SearchHit", "StoredPattern"]


class SaveStatus(StrEnum):
    """What storing one pattern did."""

    ADDED = "added"
    KNOWN = "known"  # the user already has this change (same solution_hash)
    CONFLICT = "conflict"  # the user has another change under this pattern_id
    FORGOTTEN = "forgotten"  # the user forgot this change: not learned again


@dataclass(frozen=True)
class StoredPattern:
    pattern: Pattern
    user_id: str
    lifecycle: Lifecycle
    # Evidence (lifecycle.py), for ranking: how often and how lately this change was seen.
    evidence_count: int = 1  # 1 (the commit it was learned from) + later commits repeating it
    last_evidence: str = ""  # DATE_FORMAT, UTC: latest of commit date, repeat, successful use
    evidence_age_days: float = 0.0  # last_evidence's age on the pattern's clock, >= 0
    stale: bool = False  # older than decayAfterDays on its clock: search only, flagged
    reverted_by: str | None = None  # the commit that reverted this one (not offered)

    def __post_init__(self) -> None:
        if not self.last_evidence:  # built by hand (tests): the commit date
            object.__setattr__(self, "last_evidence", self.pattern.date)

    @property
    def reverted(self) -> bool:
        return self.reverted_by is not None

    # What the editor's finder reads of a candidate (matching/finder.Candidate).

    @property
    def retired(self) -> bool:
        return self.lifecycle.retired

    @property
    def success_rate(self) -> float:
        """With the prior for new patterns (see lifecycle.py)."""
        return self.lifecycle.success_rate

    def meets_success_rate(self, minimum: float) -> bool:
        return self.lifecycle.meets_success_rate(minimum)


@dataclass(frozen=True)
class SearchHit:
    stored: StoredPattern
    score: float  # fused relevance, 0..1, compared with Settings.similarity


@dataclass
class ImportReport:
    """What `import_patterns` did with each line's pattern."""

    added: int = 0
    known: int = 0
    conflicts: list[str] = field(default_factory=list)  # pattern ids kept as they were
    forgotten: int = 0  # changes the user forgot earlier, skipped
    embedded: int = 0  # patterns given a vector (new ones, and any an earlier run left)
    embedded_from_cache: int = 0
