"""Team sync state in the pattern database (migration 0011): per team server, the pull
cursor, which of the user's patterns it already has, and the team patterns pulled from it
(with their creator, contributors and the local feedback already sent).

Pulled patterns are ordinary `patterns` rows with source = 'team', owned by a per-server
pseudo-user (`team_owner`), so the store's Scope shows them to whoever opts in with
includeTeam and nobody can forget them. team/sync.py drives these methods; the SQL is here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..patterns import PatternSource
from .db import Database, row_values
from .lifecycle import Outcome, should_retire

TEAM_OWNER_PREFIX = "team@"


def team_owner(server: str) -> str:
    """The user_id that a server's team patterns are stored under."""
    return TEAM_OWNER_PREFIX + server


@dataclass(frozen=True)
class TeamOrigin:
    """Where a team pattern came from: shown in hovers and diagnostics."""

    server: str
    remote_id: str
    created_by: str
    contributors: tuple[str, ...]


@dataclass(frozen=True)
class PendingVote:
    """The latest local feedback on a team pattern that the server has not been sent."""

    remote_id: str
    feedback_id: int
    helpful: bool


@dataclass(frozen=True)
class PulledState:
    """A team pattern as the server last described it."""

    remote_id: str
    created_by: str
    contributors: tuple[str, ...]
    updated_at: str
    success_count: int
    failure_count: int


class TeamSyncStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    # --- the pull cursor -----------------------------------------------------------------

    def cursor(self, server: str) -> str | None:
        rows = self.db.query("SELECT cursor FROM team_sync_state WHERE server = ?", (server,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def last_sync(self, server: str) -> tuple[str | None, str | None]:
        """(last pull, last push) that succeeded, UTC text."""
        rows = self.db.query(
            "SELECT last_pull, last_push FROM team_sync_state WHERE server = ?", (server,)
        )
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def save_pull(self, server: str, cursor: str | None, at: str) -> None:
        """After a page is stored: its cursor (None keeps the previous one)."""
        with self.db.atomic() as c:
            c.execute(
                "INSERT INTO team_sync_state (server, cursor, last_pull) VALUES (?, ?, ?) "
                "ON CONFLICT (server) DO UPDATE SET "
                "cursor = coalesce(excluded.cursor, cursor), last_pull = excluded.last_pull",
                (server, cursor, at),
            )

    def save_push(self, server: str, at: str) -> None:
        with self.db.atomic() as c:
            c.execute(
                "INSERT INTO team_sync_state (server, last_push) VALUES (?, ?) "
                "ON CONFLICT (server) DO UPDATE SET last_push = excluded.last_push",
                (server, at),
            )

    # --- pushing the user's own patterns -------------------------------------------------

    def pushed_ids(self, server: str, user_id: str) -> set[str]:
        """pattern_ids of the user's patterns the server already has."""
        rows = self.db.query(
            "SELECT p.pattern_id FROM team_pushed t JOIN patterns p ON p.id = t.pattern "
            "WHERE t.server = ? AND p.user_id = ?",
            (server, user_id),
        )
        return {str(r[0]) for r in rows}

    def mark_pushed(
        self, server: str, user_id: str, pushed: Sequence[tuple[str, str]], at: str
    ) -> None:
        """(pattern_id, the server's id) of the user's patterns the server accepted."""
        with self.db.atomic() as c:
            for pattern_id, remote_id in pushed:
                c.execute(
                    "INSERT OR REPLACE INTO team_pushed (server, pattern, remote_id, pushed_at) "
                    "SELECT ?, id, ?, ? FROM patterns WHERE user_id = ? AND pattern_id = ? "
                    "AND source != ?",
                    (server, remote_id, at, user_id, pattern_id, PatternSource.TEAM.value),
                )

    # --- pulled team patterns ------------------------------------------------------------

    def own_hashes(self, user_id: str, hashes: Iterable[str]) -> set[str]:
        """Which of these changes the user has as their own (not pulled again as a copy)."""
        rows = self.db.query(
            "SELECT solution_hash FROM patterns WHERE user_id = ? AND source != ? "
            "AND solution_hash IN (SELECT value FROM json_each(?))",
            (user_id, PatternSource.TEAM.value, json.dumps(list(hashes))),
        )
        return {str(r[0]) for r in rows}

    def pushed_remote(self, server: str, remote_ids: Iterable[str]) -> set[str]:
        """Which of these server ids are the user's own pushed patterns (also when the
        server's copy differs: scrubbed, or merged into a teammate's same change)."""
        rows = self.db.query(
            "SELECT remote_id FROM team_pushed WHERE server = ? "
            "AND remote_id IN (SELECT value FROM json_each(?))",
            (server, json.dumps(list(remote_ids))),
        )
        return {str(r[0]) for r in rows}

    def known_remote(self, server: str, remote_ids: Iterable[str]) -> set[str]:
        rows = self.db.query(
            "SELECT remote_id FROM team_patterns WHERE server = ? "
            "AND remote_id IN (SELECT value FROM json_each(?))",
            (server, json.dumps(list(remote_ids))),
        )
        return {str(r[0]) for r in rows}

    def record_pulled(
        self, server: str, states: Sequence[tuple[str, PulledState]], pending: set[str]
    ) -> None:
        """Link each stored team row (its local pattern_id) to the server's pattern and take
        the server's counts, which include this user's votes once they are sent; a pattern
        with a vote still waiting (`pending`, remote ids) keeps its local counts."""
        owner = team_owner(server)
        with self.db.atomic() as c:
            for pattern_id, state in states:
                rows = c.execute(
                    "SELECT id FROM patterns WHERE user_id = ? AND pattern_id = ?",
                    (owner, pattern_id),
                ).fetchall()
                if not rows:
                    continue
                row_id = int(row_values(rows[0])[0])
                c.execute(
                    "INSERT INTO team_patterns (server, remote_id, pattern, created_by, "
                    "contributors, remote_updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (server, remote_id) DO UPDATE SET pattern = excluded.pattern, "
                    "created_by = excluded.created_by, contributors = excluded.contributors, "
                    "remote_updated_at = excluded.remote_updated_at",
                    (
                        server,
                        state.remote_id,
                        row_id,
                        state.created_by,
                        json.dumps(list(state.contributors)),
                        state.updated_at,
                    ),
                )
                if state.remote_id in pending:
                    continue
                uses = state.success_count + state.failure_count
                c.execute(
                    "UPDATE patterns SET success_count = ?, failure_count = ?, uses = ?, "
                    "retired = ? WHERE id = ?",
                    (
                        state.success_count,
                        state.failure_count,
                        uses,
                        int(should_retire(state.success_count, uses)),
                        row_id,
                    ),
                )

    def team_pattern_count(self, server: str) -> int:
        return int(
            self.db.query("SELECT count(*) FROM team_patterns WHERE server = ?", (server,))[0][0]
        )

    def origins(self, pattern_ids: Iterable[str]) -> dict[str, TeamOrigin]:
        """The team origin of each of these pattern ids that is a pulled team pattern."""
        rows = self.db.query(
            "SELECT p.pattern_id, t.server, t.remote_id, t.created_by, t.contributors "
            "FROM patterns p JOIN team_patterns t ON t.pattern = p.id "
            "WHERE p.source = ? AND p.pattern_id IN (SELECT value FROM json_each(?))",
            (PatternSource.TEAM.value, json.dumps(list(dict.fromkeys(pattern_ids)))),
        )
        return {
            str(r[0]): TeamOrigin(str(r[1]), str(r[2]), str(r[3]), tuple(json.loads(r[4])))
            for r in rows
        }

    def all_origins(self) -> dict[str, TeamOrigin]:
        """Every pulled team pattern's origin, by local pattern_id (the language server keeps
        them in memory for hovers and diagnostics)."""
        rows = self.db.query(
            "SELECT p.pattern_id, t.server, t.remote_id, t.created_by, t.contributors "
            "FROM team_patterns t JOIN patterns p ON p.id = t.pattern"
        )
        return {
            str(r[0]): TeamOrigin(str(r[1]), str(r[2]), str(r[3]), tuple(json.loads(r[4])))
            for r in rows
        }

    # --- feedback on team patterns -------------------------------------------------------

    def pending_votes(self, server: str) -> list[PendingVote]:
        """Per team pattern, its latest local feedback not yet sent: the server keeps one
        vote per user (a second replaces the first), so only the latest matters."""
        rows = self.db.query(
            "SELECT t.remote_id, f.id, f.outcome FROM team_patterns t "
            "JOIN feedback f ON f.pattern = t.pattern "
            "WHERE t.server = ? AND f.id = (SELECT max(g.id) FROM feedback g "
            "WHERE g.pattern = t.pattern) AND f.id > t.feedback_sent ORDER BY f.id",
            (server,),
        )
        return [PendingVote(str(r[0]), int(r[1]), Outcome(str(r[2])).is_success) for r in rows]

    def mark_votes_sent(self, server: str, votes: Sequence[PendingVote]) -> None:
        with self.db.atomic() as c:
            for vote in votes:
                c.execute(
                    "UPDATE team_patterns SET feedback_sent = max(feedback_sent, ?) "
                    "WHERE server = ? AND remote_id = ?",
                    (vote.feedback_id, server, vote.remote_id),
                )
