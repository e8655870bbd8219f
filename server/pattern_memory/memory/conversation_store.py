"""Conversation state in the pattern database (migration 0010): which patterns went into,
and came out of, each turn of a user's assistant conversation.

A turn is a number that grows within a conversation (the proxy counts user messages, the
hooks count prompts). The patterns of a turn are judged once, by the user's next message,
and then removed; state older than RETENTION_DAYS is dropped as new turns are written.
Reads take no write lock, and nothing is written for a turn that has nothing to record,
so that the proxy's request path stays a read in the common case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import apsw

from .db import Database, row_values

RETENTION_DAYS = 30
INJECTED = "injected"
FORGED = "forged"
_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class TurnPatterns:
    turn: int
    injected: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)

    @property
    def judged(self) -> list[str]:
        """Every pattern the next message's outcome applies to, once each."""
        return list(dict.fromkeys([*self.injected, *self.forged]))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConversationStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def start_turn(self, user_id: str, conversation: str, turn: int, injected: list[str]) -> None:
        """`turn` begins with `injected`: what an earlier attempt at the same or a later
        turn recorded (a retried request, an edited message) is replaced."""
        stale = self.db.query(
            "SELECT 1 FROM conversation_turns WHERE user_id = ? AND conversation = ? "
            "AND turn >= ? LIMIT 1",
            (user_id, conversation, turn),
        )
        if not injected and not stale:
            return
        now = _now()
        with self.db.atomic() as c:
            c.execute(
                "DELETE FROM conversation_turns WHERE user_id = ? AND conversation = ? "
                "AND turn >= ?",
                (user_id, conversation, turn),
            )
            c.executemany(
                "INSERT OR IGNORE INTO conversation_turns "
                "(user_id, conversation, turn, role, pattern_id, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (user_id, conversation, turn, INJECTED, pid, now.strftime(_FORMAT))
                    for pid in dict.fromkeys(injected)
                ],
            )
            self._prune(c, now)

    def add_forged(self, user_id: str, conversation: str, turn: int, forged: list[str]) -> None:
        """Patterns forged from the answer to `turn`: its next message judges them too."""
        if not forged:
            return
        now = _now()
        with self.db.atomic() as c:
            c.executemany(
                "INSERT OR IGNORE INTO conversation_turns "
                "(user_id, conversation, turn, role, pattern_id, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (user_id, conversation, turn, FORGED, pid, now.strftime(_FORMAT))
                    for pid in dict.fromkeys(forged)
                ],
            )

    def take_previous(self, user_id: str, conversation: str, turn: int) -> TurnPatterns | None:
        """The latest turn before `turn` that recorded patterns, removed (with anything
        older) so that it is judged once; None when there is none."""
        rows = self.db.query(
            "SELECT turn, role, pattern_id FROM conversation_turns "
            "WHERE user_id = ? AND conversation = ? AND turn < ? ORDER BY turn",
            (user_id, conversation, turn),
        )
        if not rows:
            return None
        latest = max(int(row[0]) for row in rows)
        found = TurnPatterns(latest)
        for row_turn, role, pattern_id in rows:
            if int(row_turn) == latest:
                (found.injected if role == INJECTED else found.forged).append(str(pattern_id))
        with self.db.atomic() as c:
            c.execute(
                "DELETE FROM conversation_turns WHERE user_id = ? AND conversation = ? "
                "AND turn < ?",
                (user_id, conversation, turn),
            )
        return found

    def next_turn(self, user_id: str, conversation: str) -> int:
        """A new turn number for a caller that does not count turns (1, 2, ...)."""
        now = _now()
        with self.db.atomic() as c:
            rows = c.execute(
                "INSERT INTO conversations (user_id, conversation, turn, updated_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (user_id, conversation) DO UPDATE SET "
                "turn = turn + 1, updated_at = excluded.updated_at RETURNING turn",
                (user_id, conversation, now.strftime(_FORMAT)),
            ).fetchall()
            self._prune(c, now)
        return int(row_values(rows[0])[0])

    def current_turn(self, user_id: str, conversation: str) -> int:
        """The latest number `next_turn` gave (0 before the first)."""
        rows = self.db.query(
            "SELECT turn FROM conversations WHERE user_id = ? AND conversation = ?",
            (user_id, conversation),
        )
        return int(rows[0][0]) if rows else 0

    def _prune(self, c: apsw.Connection, now: dt.datetime) -> None:
        cutoff = (now - dt.timedelta(days=RETENTION_DAYS)).strftime(_FORMAT)
        c.execute("DELETE FROM conversation_turns WHERE recorded_at < ?", (cutoff,))
        c.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,))
