"""The seed's pattern lifecycle: created -> injected -> outcome -> reinforced or retired,
and decay.

- Success rate: Bayesian, (successes + PRIOR_SUCCESSES) / (outcomes + PRIOR_SUCCESSES +
  PRIOR_FAILURES). A new pattern starts at 0.8, above the default `minSuccessRate` 0.6, so it
  is surfaced; two "not helpful" in a row (4/7 = 0.57) hide it, a later "helpful" brings it
  back. Evidence outweighs the prior after a handful of outcomes.
- Retired: at least RETIRE_MIN_USES uses and an observed rate (no prior) below
  RETIRE_BELOW_RATE: exactly the seed's "below 30% over 10+ uses". Retired is final.
- Decayed: no longer surfaced once the pattern entered this memory (created_at) more than
  `decayAfterDays` ago (0: never), even if its rate is high (the seed); outcomes do not
  reset the clock. The clock starts at learning, not at the commit date: an old fix learned
  today from history is fresh.
- minSuccessRate judges a pattern by its record: one without outcomes yet passes (it ranks
  by the prior, below proven ones); one with outcomes needs its success rate (with the
  prior) at least minSuccessRate. A pattern is judged only after it was surfaced, so a
  minimum above the prior (0.8) must not hide the untested ones forever.
- Reinforced: ranking is by relevance times success rate (the expected usefulness), so each
  "helpful" lifts a pattern above equally relevant ones with a weaker record.
"""

from __future__ import annotations

import datetime as dt
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


def fresh_since(decay_after_days: int, now: dt.datetime) -> str | None:
    """The oldest created_at that is not decayed, or None when decay is off."""
    if decay_after_days <= 0:
        return None
    return now_text(now - dt.timedelta(days=decay_after_days))


def rank_weight(rate: float) -> float:
    return rate
