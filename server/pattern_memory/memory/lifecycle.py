"""The seed's pattern lifecycle: created -> injected -> outcome -> reinforced or retired,
and decay.

- Success rate: Bayesian, (successes + PRIOR_SUCCESSES) / (outcomes + PRIOR_SUCCESSES +
  PRIOR_FAILURES). A new pattern starts at 0.8, above the default `minSuccessRate` 0.6, so it
  is surfaced; two "not helpful" in a row (4/7 = 0.57) hide it, a later "helpful" brings it
  back. Evidence outweighs the prior after a handful of outcomes.
- Retired: at least RETIRE_MIN_USES uses and an observed rate (no prior) below
  RETIRE_BELOW_RATE: exactly the seed's "below 30% over 10+ uses". Retired is final.
- Decayed (stale): its latest evidence is more than `decayAfterDays` older than its clock
  (0: never decays). Evidence: the commit it was learned from (Pattern.date), a later commit
  making the same change (same solution_hash), a successful use (applied, helpful); the
  latest of them is `last_evidence`. The clock of a mined pattern (source git) is its
  repository's: the newest commit date the memory has learned from that repository, so an
  idle repository keeps its memory (the newest fix is never stale) and what the history
  moved far past decays; forged and team patterns are on the wall clock (for them,
  entering this memory counts as evidence). A stale pattern
  is still found by the CLI `search` (flagged), never injected nor offered by the editor.
- minSuccessRate judges a pattern by its record: one without outcomes yet passes (it ranks
  by the prior, below proven ones); one with outcomes needs its success rate (with the
  prior) at least minSuccessRate. A pattern is judged only after it was surfaced, so a
  minimum above the prior (0.8) must not hide the untested ones forever.
- Reinforced: ranking is by relevance times success rate (the expected usefulness), so each
  "helpful" lifts a pattern above equally relevant ones with a weaker record.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from ..patterns import DATE_FORMAT

PRIOR_SUCCESSES = 4.0
PRIOR_FAILURES = 1.0
RETIRE_MIN_USES = 10
RETIRE_BELOW_RATE = 0.30


class Outcome(StrEnum):
    APPLIED = "applied"
    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"

    @property
    def is_success(self) -> bool:
        return self is not Outcome.NOT_HELPFUL


def success_rate(successes: int, failures: int) -> float:
    return (successes + PRIOR_SUCCESSES) / (successes + failures + PRIOR_SUCCESSES + PRIOR_FAILURES)


def should_retire(successes: int, uses: int) -> bool:
    return uses >= RETIRE_MIN_USES and successes / uses < RETIRE_BELOW_RATE


def now_text(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime(DATE_FORMAT)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Decay:
    """The decay rule in force: `days` (decayAfterDays, 0: off) and the wall clock `now`
    (DATE_FORMAT) that forged and team patterns are aged against."""

    days: int
    now: str

    @property
    def on(self) -> bool:
        return self.days > 0

    def since(self, clock: str) -> str:
        """The oldest latest-evidence that is still fresh on `clock`."""
        return now_text(parse_time(clock) - dt.timedelta(days=self.days))


def no_decay(now: dt.datetime | None = None) -> Decay:
    return Decay(0, now_text(now))


@dataclass(frozen=True)
class Lifecycle:
    """A stored pattern's record: its outcomes, uses, when it was last used (a success or
    not) and learned, and whether it is retired. An export writes it as is (transfer.py)."""

    success_count: int
    failure_count: int
    uses: int
    last_used: str | None
    created_at: str
    retired: bool

    @property
    def success_rate(self) -> float:
        """With the prior for new patterns."""
        return success_rate(self.success_count, self.failure_count)

    def meets_success_rate(self, minimum: float) -> bool:
        """The minSuccessRate rule: no outcomes yet passes; else the rate (with the prior)
        must reach the minimum. The search applies it in SQL (filters.rate_passes_sql)."""
        return self.uses == 0 or self.success_rate >= minimum


# Ranking (search.py): a modest preference for recent and repeated evidence. At most
# RECENCY_SPAN off for evidence RECENCY_HORIZON_DAYS or more behind its clock, and up to
# EVIDENCE_CAP more for a change seen in several commits (EVIDENCE_STEP per doubling).
RECENCY_SPAN = 0.05
RECENCY_HORIZON_DAYS = 730.0
EVIDENCE_STEP = 0.03
EVIDENCE_CAP = 0.06


def rank_weight(rate: float, evidence_age_days: float = 0.0, evidence_count: int = 1) -> float:
    """Expected usefulness: the success rate, a little less for old evidence, a little more
    for a change seen more than once."""
    age = min(max(evidence_age_days, 0.0), RECENCY_HORIZON_DAYS) / RECENCY_HORIZON_DAYS
    seen = min(EVIDENCE_STEP * math.log2(max(evidence_count, 1)), EVIDENCE_CAP)
    return rate * (1.0 - RECENCY_SPAN * age) * (1.0 + seen)
