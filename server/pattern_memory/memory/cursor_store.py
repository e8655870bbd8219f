"""SQL for the mined-commit cursors (table mined_cursor): per user and repository, the last
commit indexing has read, so that the next run reads only newer ones."""

from __future__ import annotations

import apsw

from .db import Database


class CursorStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def last_commit(self, user_id: str, repository: str) -> str | None:
        rows = self.db.query(
            "SELECT last_commit FROM mined_cursor WHERE user_id = ? AND repository = ?",
            (user_id, repository),
        )
        return str(rows[0][0]) if rows else None

    def advance(
        self,
        c: apsw.Connection,
        *,
        user_id: str,
        repository: str,
        last_commit: str,
        commits_read: int,
        at: str,
    ) -> None:
        """Inside the caller's transaction (with the patterns those commits gave)."""
        c.execute(
            "INSERT INTO mined_cursor (user_id, repository, last_commit, commits_read, "
            "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, repository) "
            "DO UPDATE SET "
            "last_commit = excluded.last_commit, "
            "commits_read = mined_cursor.commits_read + excluded.commits_read, "
            "updated_at = excluded.updated_at",
            (user_id, repository, last_commit, commits_read, at),
        )
