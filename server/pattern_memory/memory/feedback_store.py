"""SQL for outcomes: the feedback table (one row per outcome recorded) and the counts, last
use and retirement it updates on the pattern (lifecycle.py has the rules)."""

from __future__ import annotations

from .db import Database, bump_counter, row_values
from .filters import Scope
from .lifecycle import Outcome, should_retire
from .pattern_rows import visible_row
from .vector_store import EVIDENCE_GENERATION


class FeedbackStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def record(self, pattern_id: str, scope: Scope, outcome: Outcome, at: str) -> bool:
        """Feedback on a pattern the scope sees (own, or a team pattern when opted in);
        False when it sees none of that id."""
        success = 1 if outcome.is_success else 0
        with self.db.atomic() as c:
            row_id = visible_row(self.db, pattern_id, scope)
            if row_id is None:
                return False
            updated = c.execute(
                "UPDATE patterns SET success_count = success_count + ?, "
                "failure_count = failure_count + ?, uses = uses + 1, "
                "last_used = CASE WHEN ? THEN ? ELSE last_used END, "
                # A successful use is evidence: it makes the pattern fresh again.
                "last_evidence = CASE WHEN ? THEN max(last_evidence, ?) ELSE last_evidence END "
                "WHERE id = ? RETURNING success_count, uses, retired",
                (success, 1 - success, success, at, success, at, row_id),
            ).fetchall()
            if success:
                bump_counter(c, EVIDENCE_GENERATION)
            successes, uses, retired = row_values(updated[0])
            if not retired and should_retire(int(successes), int(uses)):
                c.execute("UPDATE patterns SET retired = 1 WHERE id = ?", (row_id,))
            c.execute(
                "INSERT INTO feedback (pattern, outcome, recorded_at) VALUES (?, ?, ?)",
                (row_id, outcome.value, at),
            )
        return True

    def history(self, pattern_id: str, scope: Scope) -> list[tuple[str, str]]:
        """(outcome, recorded at) of every outcome recorded for the pattern, oldest first."""
        row_id = visible_row(self.db, pattern_id, scope)
        rows = self.db.query(
            "SELECT outcome, recorded_at FROM feedback WHERE pattern = ? ORDER BY id",
            (row_id,),
        )
        return [(str(o), str(t)) for o, t in rows]
