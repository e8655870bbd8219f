"""Which patterns were injected into (and forged from) which conversation turn, so that the
user's next message can reinforce or charge them.

A proxied conversation is known by a hash of its user and its first user message: every
request of a chat carries the whole history, so the first message is stable from turn to
turn, and two users with the same opening line stay apart. A coding agent's session is
known by its session id. The state itself lives in the pattern database
(memory/conversation_store.py), so a restart of the proxy or a new hook process does not
forget the previous turn.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

from ..memory.conversation_store import ConversationStore, TurnPatterns
from .outcome import ReplyOutcome, reply_outcome

if TYPE_CHECKING:
    from ..memory.service import PatternMemory

__all__ = [
    "ConversationStore",
    "TurnPatterns",
    "Verdict",
    "conversation_key",
    "judge_reply",
    "record_verdict",
]

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    WORKED = "worked"
    FAILED = "failed"


def conversation_key(user_id: str, first_user_message: str) -> str:
    digest = hashlib.sha256()
    digest.update(user_id.encode("utf-8", "replace") + b"\0")
    digest.update(first_user_message.strip().encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def judge_reply(text: str) -> Verdict | None:
    """WORKED, FAILED or None (no outcome) for the user's reply to an answer."""
    result = reply_outcome(text)
    if result is ReplyOutcome.WORKED:
        return Verdict.WORKED
    if result is ReplyOutcome.FAILED:
        return Verdict.FAILED
    return None


def record_verdict(memory: PatternMemory, pattern_ids: Iterable[str], verdict: Verdict) -> int:
    """Reinforce (WORKED) or charge (FAILED) each pattern; returns how many were recorded.
    A pattern forgotten since it was injected is skipped (logged), not an error."""
    from ..memory.types import Outcome

    outcome = Outcome.HELPFUL if verdict is Verdict.WORKED else Outcome.NOT_HELPFUL
    recorded = 0
    for pattern_id in dict.fromkeys(pattern_ids):
        try:
            memory.record_outcome(pattern_id, outcome)
            recorded += 1
        except Exception as exc:
            log.info("outcome not recorded for %s: %s", pattern_id, exc)
    return recorded
