"""Which patterns were injected into (and forged from) which conversation, so that the user's
next turn can reinforce or charge them.

A conversation is known by a hash of its user and its first user message: every request of a
chat carries the whole history, so the first message is stable from turn to turn, and two
users with the same opening line stay apart. Kept in memory, bounded (oldest dropped): an
outcome matters only on the very next turn.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

from .outcome import ReplyOutcome, reply_outcome

MAX_CONVERSATIONS = 10_000


class Verdict(StrEnum):
    WORKED = "worked"
    FAILED = "failed"


def conversation_key(user_id: str, first_user_message: str) -> str:
    digest = hashlib.sha256()
    digest.update(user_id.encode("utf-8", "replace") + b"\0")
    digest.update(first_user_message.strip().encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


@dataclass
class Turn:
    user_turns: int  # user messages in the request these patterns went with
    injected: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)


class Conversations:
    def __init__(self, limit: int = MAX_CONVERSATIONS) -> None:
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def remember(self, key: str, turn: Turn) -> None:
        with self._lock:
            self._turns[key] = turn
            self._turns.move_to_end(key)
            while len(self._turns) > self._limit:
                self._turns.popitem(last=False)

    def add_forged(self, key: str, pattern_ids: list[str]) -> None:
        with self._lock:
            turn = self._turns.get(key)
            if turn is not None:
                turn.forged.extend(i for i in pattern_ids if i not in turn.forged)

    def take_previous(self, key: str, user_turns: int) -> Turn | None:
        """The turn before this one (fewer user messages), removed so it is judged once."""
        with self._lock:
            turn = self._turns.get(key)
            if turn is None or turn.user_turns >= user_turns:
                return None
            del self._turns[key]
            return turn


def judge_reply(text: str) -> Verdict | None:
    """WORKED, FAILED or None (no outcome) for the user's reply to an answer."""
    result = reply_outcome(text)
    if result is ReplyOutcome.WORKED:
        return Verdict.WORKED
    if result is ReplyOutcome.FAILED:
        return Verdict.FAILED
    return None
