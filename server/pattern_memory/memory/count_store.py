"""SQL for what `stats` and the index report count: patterns by lifecycle state, type and
source, the repositories mined, feedback, and the files most patterns came from."""

from __future__ import annotations

from typing import Any

from .db import Database
from .filters import Scope, fresh_sql
from .lifecycle import Decay


class CountStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def lifecycle_counts(self, scope: Scope, decay: Decay) -> tuple[int, int, int, int]:
        """(active, decayed, retired, reverted) patterns in the scope, each counted once:
        retired first, then reverted, then decayed (stale)."""
        where, params = scope.sql()
        fresh, fresh_args = fresh_sql(decay)
        total, retired, reverted, decayed = self.db.query(
            "SELECT count(*), coalesce(sum(retired), 0), "
            "coalesce(sum(retired = 0 AND reverted_by IS NOT NULL), 0), "
            f"coalesce(sum(retired = 0 AND reverted_by IS NULL AND NOT {fresh}), 0) "
            f"FROM patterns p WHERE {where}",
            (*fresh_args, *params),
        )[0]
        active = int(total) - int(retired) - int(reverted) - int(decayed)
        return active, int(decayed), int(retired), int(reverted)

    def counts(self, scope: Scope) -> dict[str, Any]:
        where, params = scope.sql()
        total, retired, embedded, helpful = self.db.query(
            f"SELECT count(*), coalesce(sum(retired), 0), count(vector_seq), "
            f"coalesce(sum(success_count), 0) FROM patterns p WHERE {where}",
            params,
        )[0]
        by_type = dict(
            self.db.query(
                f"SELECT problem_type, count(*) FROM patterns p WHERE {where} "
                "GROUP BY problem_type ORDER BY 2 DESC",
                params,
            )
        )
        by_source = dict(
            self.db.query(
                f"SELECT source, count(*) FROM patterns p WHERE {where} GROUP BY source",
                params,
            )
        )
        repositories = dict(
            self.db.query(
                "SELECT repository, last_commit FROM mined_cursor WHERE user_id = ? "
                "ORDER BY repository",
                (scope.user_id,),
            )
        )
        feedback = self.db.query(
            f"SELECT count(*) FROM feedback f JOIN patterns p ON p.id = f.pattern WHERE {where}",
            params,
        )[0][0]
        return {
            "patterns": int(total),
            "retired": int(retired),
            "embedded": int(embedded),
            "successes": int(helpful),
            "feedback": int(feedback),
            "by_type": by_type,
            "by_source": by_source,
            "repositories": repositories,
        }

    def top_files(self, repository: str, user_id: str, limit: int) -> list[tuple[str, int]]:
        rows = self.db.query(
            "SELECT file_path, count(*) FROM patterns WHERE repository = ? AND user_id = ? "
            "AND file_path != '' GROUP BY file_path ORDER BY 2 DESC, 1 LIMIT ?",
            (repository, user_id, limit),
        )
        return [(str(f), int(n)) for f, n in rows]
