"""SQL over the patterns table: storing, reading and deleting patterns, and the facade over
the stores beside it, one per concern: `terms` (FTS5 tokens and term counts,
term_store.py), `feedback` (outcomes), `cursors` (the mined-commit cursors), `counts`
(statistics), `vectors` (embedding cache and vector table), `shapes` (code shapes),
`templates` (each pattern's stored template and code checks) and `metrics`;
revert_store.py keeps the revert state. Other modules call these and never write SQL
themselves.

Writes that belong together are made by the caller inside one `Database.atomic()`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apsw

from ..errors import StoreError
from ..patterns import Pattern, PatternSource
from .count_store import CountStore
from .cursor_store import CursorStore
from .db import Database, bump_counter, row_values
from .feedback_store import FeedbackStore
from .filters import Filters, Scope, eligible_sql, rate_passes_sql
from .lifecycle import Decay, Lifecycle, no_decay
from .metrics_store import MetricsStore
from .migrations import migrate
from .pattern_rows import (
    RankingRow,
    lines_json,
    ranking_sql,
    select_sql,
    to_ranking,
    to_stored,
    visible_row,
)
from .revert_store import RevertRecord, effective_revert, record_revert
from .shape_store import ShapeStore, add_shapes, forget_shapes
from .template_store import TemplateStore, forget_template
from .term_store import TermStore, add_terms, forget_terms
from .text import text_hash
from .types import SaveStatus, StoredPattern
from .vector_store import EVIDENCE_GENERATION, VectorStore

__all__ = ["PatternStore", "RevertRecord"]


class PatternStore:
    """Patterns; `terms`, `feedback`, `cursors`, `counts`, `vectors`, `shapes`,
    `templates` and `metrics` hold the rest."""

    def __init__(self, database: Database) -> None:
        self.db = database
        self.terms = TermStore(database)
        self.feedback = FeedbackStore(database)
        self.cursors = CursorStore(database)
        self.counts = CountStore(database)
        self.vectors = VectorStore(database)
        self.shapes = ShapeStore(database)
        self.templates = TemplateStore(database)
        self.metrics = MetricsStore(database)
        try:
            migrate(database)
        except apsw.Error as exc:
            raise StoreError(
                f"cannot prepare the pattern database {database.path}: {exc}"
            ) from None

    # --- meta --------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def change_generation(self) -> int:
        """Bumped by triggers on every change to patterns or feedback (migration 0008)."""
        return int(self.meta("change_generation") or 0)

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- patterns ----------------------------------------------------------------------

    def upsert(
        self,
        items: Sequence[tuple[Pattern, str]],
        user_id: str,
        created_at: str,
        lifecycles: Sequence[Lifecycle | None] | None = None,
        *,
        skip_forgotten: bool = False,
    ) -> list[tuple[str, SaveStatus]]:
        """Store (pattern, lookup text) pairs for `user_id`. Identity and dedupe are per
        owner: a change the user already has (solution_hash) is KNOWN (its stored id is
        returned); another change under an id the user already has is a CONFLICT (kept as
        it was). `lifecycles`: the state an export recorded, restored for new patterns.
        skip_forgotten: a change the user forgot is FORGOTTEN, not stored (index, import)."""
        out: list[tuple[str, SaveStatus]] = []
        states = list(lifecycles) if lifecycles is not None else [None] * len(items)
        with self.db.atomic() as c:
            for (pattern, lookup), state in zip(items, states, strict=True):
                existing = [
                    row_values(r)
                    for r in c.execute(
                        "SELECT pattern_id, solution_hash, id, commit_sha FROM patterns "
                        "WHERE user_id = ? AND (solution_hash = ? OR pattern_id = ?)",
                        (user_id, pattern.solution_hash, pattern.pattern_id),
                    )
                ]
                if (
                    skip_forgotten
                    and c.execute(
                        "SELECT 1 FROM forgotten WHERE user_id = ? AND solution_hash = ?",
                        (user_id, pattern.solution_hash),
                    ).fetchall()
                ):
                    out.append((pattern.pattern_id, SaveStatus.FORGOTTEN))
                    continue
                same = [r for r in existing if r[1] == pattern.solution_hash]
                if same:
                    self._sighting(c, int(same[0][2]), str(same[0][3]), pattern, user_id)
                    out.append((str(same[0][0]), SaveStatus.KNOWN))
                    continue
                if existing:
                    out.append((pattern.pattern_id, SaveStatus.CONFLICT))
                    continue
                c.execute(
                    "INSERT INTO patterns (pattern_id, problem_type, before_code, after_code, "
                    "commit_msg, author, date, confidence, commit_sha, file_path, language, "
                    "before_lines, after_lines, solution_hash, source, repository, user_id, "
                    "lookup_text, lookup_hash, created_at, last_evidence, reverted_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        pattern.pattern_id,
                        pattern.problem_type.value,
                        pattern.before_code,
                        pattern.after_code,
                        pattern.commit_msg,
                        pattern.author,
                        pattern.date,
                        pattern.confidence,
                        pattern.commit,
                        pattern.file_path,
                        pattern.language,
                        lines_json(pattern.before_lines),
                        lines_json(pattern.after_lines),
                        pattern.solution_hash,
                        pattern.source.value,
                        pattern.repository,
                        user_id,
                        lookup,
                        text_hash(lookup),
                        created_at,
                        # Forged and team patterns (wall clock): entering this memory (an
                        # answer accepted, a teammate's share) is evidence too.
                        pattern.date
                        if pattern.source is PatternSource.GIT
                        else max(pattern.date, created_at),
                        # A revert recorded before its commit's patterns arrive (imported,
                        # or mined again at another path) still applies.
                        effective_revert(c, user_id, pattern.commit) if pattern.commit else None,
                    ),
                )
                row_id = c.last_insert_rowid()
                self._advance_clock(c, pattern, user_id)
                if state is not None:
                    # A successful use the export recorded is evidence too.
                    c.execute(
                        "UPDATE patterns SET success_count = ?, failure_count = ?, uses = ?, "
                        "last_used = ?, created_at = ?, retired = ?, "
                        "last_evidence = max(last_evidence, coalesce(?, '')) WHERE id = ?",
                        (
                            state.success_count,
                            state.failure_count,
                            state.uses,
                            state.last_used,
                            state.created_at,
                            int(state.retired),
                            state.last_used,
                            row_id,
                        ),
                    )
                add_terms(c, row_id, pattern)
                add_shapes(c, row_id, pattern.before_code, pattern.after_code, pattern.language)
                out.append((pattern.pattern_id, SaveStatus.ADDED))
        return out

    def _sighting(
        self, c: apsw.Connection, row_id: int, stored_commit: str, pattern: Pattern, user_id: str
    ) -> None:
        """A change the user already has, seen again: another commit making it is new
        evidence (counted once per commit, so re-mining a commit adds nothing)."""
        if not pattern.commit or pattern.commit == stored_commit:
            return
        c.execute(
            "INSERT OR IGNORE INTO pattern_sightings (pattern, commit_sha, date) VALUES (?, ?, ?)",
            (row_id, pattern.commit, pattern.date),
        )
        if not c.changes():
            return
        c.execute(
            "UPDATE patterns SET evidence_count = evidence_count + 1, "
            "last_evidence = max(last_evidence, ?) WHERE id = ?",
            (pattern.date, row_id),
        )
        self._advance_clock(c, pattern, user_id)
        bump_counter(c, EVIDENCE_GENERATION)

    def _advance_clock(self, c: apsw.Connection, pattern: Pattern, user_id: str) -> None:
        """A mined commit moves its repository's clock to its date if that is newer."""
        if pattern.source is not PatternSource.GIT:
            return
        c.execute(
            "INSERT INTO repository_clock (user_id, repository, newest) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, repository) DO UPDATE SET "
            "newest = max(newest, excluded.newest)",
            (user_id, pattern.repository, pattern.date),
        )

    def get(
        self, pattern_id: str, scope: Scope, decay: Decay | None = None
    ) -> StoredPattern | None:
        """The pattern as the scope sees it (own first, then the team's when opted in);
        `decay` decides its stale flag (None: decay off)."""
        row_id = visible_row(self.db, pattern_id, scope)
        if row_id is None:
            return None
        select, args = select_sql(decay or no_decay())
        rows = self.db.query(f"SELECT {select} FROM patterns p WHERE p.id = ?", (*args, row_id))
        return to_stored(rows[0]) if rows else None

    def delete(self, pattern_id: str, user_id: str, at: str) -> bool:
        """Delete the user's own pattern (a team pattern is not theirs to delete) and keep
        a tombstone of its change, so that index and import do not learn it again."""
        own = Scope(user_id, include_team=False)
        with self.db.atomic() as c:
            where, params = own.sql()
            rows = c.execute(
                f"SELECT p.id, p.solution_hash FROM patterns p WHERE p.pattern_id = ? AND {where}",
                (pattern_id, *params),
            ).fetchall()
            if not rows:
                return False
            row_id = int(row_values(rows[0])[0])
            c.execute(
                "INSERT OR REPLACE INTO forgotten (user_id, solution_hash, forgotten_at) "
                "VALUES (?, ?, ?)",
                (user_id, row_values(rows[0])[1], at),
            )
            self._remove_row(c, row_id)
        return True

    def delete_team_patterns(self, pattern_ids: Sequence[str], owner: str) -> int:
        """Delete team patterns the team server deleted (rows of `owner`, a team server's
        pseudo-user, with source team: a user's own pattern is never one of them), with
        their sync links and local feedback; no tombstone (the server keeps that). Returns
        how many were here."""
        removed = 0
        with self.db.atomic() as c:
            for pattern_id in pattern_ids:
                rows = c.execute(
                    "SELECT id FROM patterns WHERE pattern_id = ? AND user_id = ? AND source = ?",
                    (pattern_id, owner, PatternSource.TEAM.value),
                ).fetchall()
                for row in rows:
                    self._remove_row(c, int(row_values(row)[0]))
                    removed += 1
        return removed

    def _remove_row(self, c: apsw.Connection, row_id: int) -> None:
        """Inside the caller's transaction: a pattern row and everything indexed from it."""
        forget_terms(c, row_id)
        forget_shapes(c, row_id)
        forget_template(c, row_id)
        self.vectors.forget_row(c, row_id)
        c.execute("DELETE FROM patterns WHERE id = ?", (row_id,))

    def commit_patterns(self, commit_sha: str, scope: Scope, limit: int) -> list[Pattern]:
        """Up to `limit` patterns learned from one commit (to tell a mass edit, the same
        change in many files, from a fix)."""
        where, params = scope.sql()
        select, args = select_sql(no_decay())
        rows = self.db.query(
            f"SELECT {select} FROM patterns p WHERE p.commit_sha = ? AND {where} "
            "ORDER BY p.id LIMIT ?",
            (*args, commit_sha, *params, limit),
        )
        return [to_stored(row).pattern for row in rows]

    def iter_patterns(self, scope: Scope) -> Iterator[Pattern]:
        return (stored.pattern for stored in self.iter_stored(scope))

    def iter_stored(self, scope: Scope, decay: Decay | None = None) -> Iterator[StoredPattern]:
        where, params = scope.sql()
        select, args = select_sql(decay or no_decay())
        for row in self.db.query(
            f"SELECT {select} FROM patterns p WHERE {where} ORDER BY p.id", (*args, *params)
        ):
            yield to_stored(row)

    def candidates(self, row_ids: Iterable[int], filters: Filters) -> dict[int, StoredPattern]:
        """The given rows that pass every filter (eligible_sql)."""
        select, select_args = select_sql(filters.decay)
        rows = self._eligible(row_ids, filters, f"p.id, {select}", select_args)
        return {int(row[0]): to_stored(row[1:]) for row in rows}

    def ranking_rows(self, row_ids: Iterable[int], filters: Filters) -> dict[int, RankingRow]:
        """What a search ranks the given rows by, for those that pass every filter (the
        same rows `candidates` would return)."""
        select, select_args = ranking_sql(filters.decay)
        rows = self._eligible(row_ids, filters, select, select_args)
        return {int(row[0]): to_ranking(row) for row in rows}

    def _eligible(
        self, row_ids: Iterable[int], filters: Filters, select: str, select_args: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """`select` over those of the given rows that pass every filter (eligible_sql)."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return []
        where, args = eligible_sql(filters)
        # CROSS JOIN fixes the loop order: look up each candidate by primary key rather
        # than let the planner scan the user's index.
        sql = (
            f"SELECT {select} FROM json_each(?) j CROSS JOIN patterns p "
            f"ON p.id = j.value WHERE {where}"
        )
        return self.db.query(sql, [*select_args, json.dumps(ids), *args])

    def excluded_by_record(self, filters: Filters) -> set[int]:
        """Row ids that fail the filters by their record (retired, or a success rate below
        the minimum) or by a revert: few, found through the patterns_judged and
        patterns_reverted indexes. The vector index masks them; it knows the other filters
        itself."""
        rate, rate_args = rate_passes_sql(filters.min_success_rate)
        rows = self.db.query(
            "SELECT p.id FROM patterns p WHERE (p.uses > 0 OR p.retired = 1) "
            f"AND NOT (p.retired = 0 AND {rate})",
            rate_args,
        )
        excluded = {int(r[0]) for r in rows}
        if not filters.include_reverted:
            reverted = self.db.query("SELECT id FROM patterns WHERE reverted_by IS NOT NULL")
            excluded.update(int(r[0]) for r in reverted)
        return excluded

    def save_batch(
        self,
        *,
        items: Sequence[tuple[Pattern, str]],
        user_id: str,
        created_at: str,
        repository: str,
        last_commit: str,
        commits_read: int,
        reverts: Sequence[RevertRecord] = (),
    ) -> list[tuple[str, SaveStatus]]:
        """A batch of mined patterns, the reverts its commits made, and the user's cursor
        that follows them, in one transaction: a kill at any moment leaves all or none."""
        with self.db.atomic() as c:
            result = self.upsert(items, user_id, created_at, skip_forgotten=True)
            for revert in reverts:
                record_revert(c, user_id, repository, revert)
            self.cursors.advance(
                c,
                user_id=user_id,
                repository=repository,
                last_commit=last_commit,
                commits_read=commits_read,
                at=created_at,
            )
        return result

    def integrity_check(self) -> str:
        return str(self.db.query("PRAGMA integrity_check")[0][0])
