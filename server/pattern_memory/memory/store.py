"""SQL over the pattern database: patterns, their FTS5 tokens and term counts, feedback, the
mined-commit cursors, statistics and metrics (vector_store.py has the embedding cache and
the vector table, shape_store.py the code shapes). Other modules call these methods and never
write SQL themselves.

Writes that belong together are made by the caller inside one `Database.atomic()`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import apsw

from ..errors import StoreError
from ..patterns import LineRange, Pattern, PatternSource, ProblemType
from .db import Database, bump_counter, row_values
from .filters import CLOCK_SQL, Filters, Scope, eligible_sql, fresh_sql, rate_passes_sql
from .lifecycle import (
    Decay,
    Outcome,
    no_decay,
    should_retire,
)
from .metrics_store import MetricsStore
from .migrations import migrate
from .shape_store import ShapeStore, add_shapes, forget_shapes
from .text import text_hash, token_text
from .transfer import Lifecycle
from .types import SaveStatus, StoredPattern
from .vector_store import VectorStore


class _PatternRow(NamedTuple):
    """A pattern as `_select` reads it: the patterns table's columns in this order, then the
    two values it computes (the field names are the column names)."""

    pattern_id: str
    problem_type: str
    before_code: str
    after_code: str
    commit_msg: str
    author: str
    date: str
    confidence: float
    commit_sha: str
    file_path: str
    language: str
    before_lines: str | None  # LineRange as JSON
    after_lines: str | None
    solution_hash: str
    source: str
    repository: str
    user_id: str
    success_count: int
    failure_count: int
    uses: int
    last_used: str | None
    created_at: str
    retired: int
    evidence_count: int
    last_evidence: str
    reverted_by: str | None
    evidence_age_days: float  # computed: days the latest evidence lies behind its clock
    stale: int  # computed: evidence older than decayAfterDays (decay on)


_COMPUTED = ("evidence_age_days", "stale")
_COLUMNS = ", ".join(name for name in _PatternRow._fields if name not in _COMPUTED)


# Bumped when a stored pattern's evidence or revert state changes (not on insert): the
# vector index re-reads what it filters on.
EVIDENCE_GENERATION = "evidence_generation"


def _select(decay: Decay) -> tuple[str, tuple[Any, ...]]:
    """_COLUMNS plus the computed evidence age (days behind the clock) and stale flag."""
    fresh, fresh_args = fresh_sql(decay)
    return (
        f"{_COLUMNS}, max(0.0, julianday({CLOCK_SQL}) - julianday(p.last_evidence)), NOT {fresh}",
        (decay.now, *fresh_args),
    )


@dataclass(frozen=True)
class RevertRecord:
    """A mined commit that reverts others: by sha (`reverted`), else by subject."""

    commit: str
    reverted: tuple[str, ...]
    subject: str | None = None


def _lines(value: LineRange | None) -> str | None:
    return json.dumps(value.to_json()) if value else None


def _row_to_stored(values: Sequence[Any]) -> StoredPattern:
    row = _PatternRow._make(values)
    pattern = Pattern(
        pattern_id=row.pattern_id,
        problem_type=ProblemType(row.problem_type),
        before_code=row.before_code,
        after_code=row.after_code,
        commit_msg=row.commit_msg,
        author=row.author,
        date=row.date,
        confidence=float(row.confidence),
        commit=row.commit_sha,
        file_path=row.file_path,
        language=row.language,
        before_lines=_line_range(row.before_lines),
        after_lines=_line_range(row.after_lines),
        solution_hash=row.solution_hash,
        source=PatternSource(row.source),
        repository=row.repository,
    )
    return StoredPattern(
        pattern=pattern,
        user_id=row.user_id,
        success_count=int(row.success_count),
        failure_count=int(row.failure_count),
        uses=int(row.uses),
        last_used=row.last_used,
        created_at=row.created_at,
        retired=bool(row.retired),
        evidence_count=int(row.evidence_count),
        last_evidence=row.last_evidence,
        reverted_by=row.reverted_by,
        evidence_age_days=round(float(row.evidence_age_days), 3),
        stale=bool(row.stale),
    )


def _line_range(value: str | None) -> LineRange | None:
    return LineRange.from_json(json.loads(value)) if value else None


class PatternStore:
    """Patterns, their tokens, outcomes, cursors and counts; `vectors`, `shapes` and
    `metrics` hold the rest."""

    def __init__(self, database: Database) -> None:
        self.db = database
        self.vectors = VectorStore(database)
        self.shapes = ShapeStore(database)
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
                        _lines(pattern.before_lines),
                        _lines(pattern.after_lines),
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
                        self._effective_revert(c, user_id, pattern.commit, set())
                        if pattern.commit
                        else None,
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
                columns = (
                    token_text(pattern.before_code),
                    token_text(pattern.after_code),
                    token_text(pattern.commit_msg + " " + pattern.file_path),
                )
                c.execute(
                    "INSERT INTO patterns_fts (rowid, before, after, message) VALUES (?, ?, ?, ?)",
                    (row_id, *columns),
                )
                self._count_terms(c, " ".join(columns), +1)
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

    # --- reverts -----------------------------------------------------------------------

    def record_revert(
        self, c: apsw.Connection, user_id: str, repository: str, revert: RevertRecord
    ) -> None:
        """Inside the caller's transaction: `revert.commit` undoes the commits it names
        (full or abbreviated shas), or, without a sha, the latest commit of this repository
        whose subject is `revert.subject`. Their patterns get reverted_by; a revert of that
        revert clears it again."""
        revert_commit, subject = revert.commit, revert.subject
        targets = [self._full_sha(c, user_id, sha) for sha in revert.reverted]
        if not targets and subject:
            rows = c.execute(
                "SELECT commit_sha FROM patterns WHERE user_id = ? AND repository = ? "
                "AND (commit_msg = ? OR substr(commit_msg, 1, ?) = ? || char(10)) "
                "ORDER BY date DESC LIMIT 1",
                (user_id, repository, subject, len(subject) + 1, subject),
            ).fetchall()
            targets = [str(row_values(r)[0]) for r in rows]
        for target in targets:
            if target == revert_commit:
                continue
            c.execute(
                "INSERT OR IGNORE INTO reverts (user_id, commit_sha, reverted_by) VALUES (?, ?, ?)",
                (user_id, target, revert_commit),
            )
            self._apply_revert_state(c, user_id, target, set())

    def _full_sha(self, c: apsw.Connection, user_id: str, sha: str) -> str:
        sha = sha.lower()
        if len(sha) >= 40:
            return sha
        # Hex digits sort below 'g': every sha with this prefix is in [sha, sha + 'g').
        rows = c.execute(
            "SELECT DISTINCT commit_sha FROM patterns WHERE commit_sha >= ? AND commit_sha < ? "
            "AND user_id = ? LIMIT 2",
            (sha, sha + "g", user_id),
        ).fetchall()
        return str(row_values(rows[0])[0]) if len(rows) == 1 else sha

    def _effective_revert(
        self, c: apsw.Connection, user_id: str, sha: str, visiting: set[str]
    ) -> str | None:
        """The commit that reverts `sha` and is not itself reverted, if any."""
        visiting = visiting | {sha}
        rows = c.execute(
            "SELECT reverted_by FROM reverts WHERE user_id = ? AND commit_sha = ? "
            "ORDER BY reverted_by",
            (user_id, sha),
        ).fetchall()
        for row in rows:
            by = str(row_values(row)[0])
            if by not in visiting and self._effective_revert(c, user_id, by, visiting) is None:
                return by
        return None

    def _apply_revert_state(
        self, c: apsw.Connection, user_id: str, sha: str, done: set[str]
    ) -> None:
        """Set reverted_by on `sha`'s patterns, then on the commits `sha` itself reverts
        (whose state follows from whether `sha` is in effect)."""
        if sha in done:
            return
        done.add(sha)
        by = self._effective_revert(c, user_id, sha, set())
        c.execute(
            "UPDATE patterns SET reverted_by = ? WHERE user_id = ? AND commit_sha = ? "
            "AND reverted_by IS NOT ?",
            (by, user_id, sha, by),
        )
        if c.changes():
            bump_counter(c, EVIDENCE_GENERATION)
        for row in c.execute(
            "SELECT commit_sha FROM reverts WHERE user_id = ? AND reverted_by = ?", (user_id, sha)
        ).fetchall():
            self._apply_revert_state(c, user_id, str(row_values(row)[0]), done)

    def _count_terms(self, c: apsw.Connection, tokens: str, delta: int) -> None:
        c.execute(
            "INSERT INTO term_stats (term, docs) SELECT DISTINCT value, ? FROM "
            "json_each(?) WHERE true ON CONFLICT (term) DO UPDATE SET docs = docs + ?",
            (delta, json.dumps(tokens.split()), delta),
        )

    def _visible_row(self, pattern_id: str, scope: Scope) -> int | None:
        """The row of `pattern_id` in the scope, the user's own copy before a team one."""
        where, params = scope.sql()
        rows = self.db.query(
            f"SELECT p.id FROM patterns p WHERE p.pattern_id = ? AND {where} "
            "ORDER BY (p.user_id = ? AND p.source != ?) DESC, p.id LIMIT 1",
            (pattern_id, *params, scope.user_id, PatternSource.TEAM.value),
        )
        return int(rows[0][0]) if rows else None

    def get(
        self, pattern_id: str, scope: Scope, decay: Decay | None = None
    ) -> StoredPattern | None:
        """The pattern as the scope sees it (own first, then the team's when opted in);
        `decay` decides its stale flag (None: decay off)."""
        row_id = self._visible_row(pattern_id, scope)
        if row_id is None:
            return None
        select, args = _select(decay or no_decay())
        rows = self.db.query(f"SELECT {select} FROM patterns p WHERE p.id = ?", (*args, row_id))
        return _row_to_stored(rows[0]) if rows else None

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
        tokens = c.execute(
            "SELECT before || ' ' || after || ' ' || message FROM patterns_fts WHERE rowid = ?",
            (row_id,),
        ).fetchall()
        if tokens:
            self._count_terms(c, str(row_values(tokens[0])[0]), -1)
        c.execute("DELETE FROM patterns_fts WHERE rowid = ?", (row_id,))
        forget_shapes(c, row_id)
        self.vectors.forget_row(c, row_id)
        c.execute("DELETE FROM patterns WHERE id = ?", (row_id,))

    def commit_patterns(self, commit_sha: str, scope: Scope, limit: int) -> list[Pattern]:
        """Up to `limit` patterns learned from one commit (to tell a mass edit, the same
        change in many files, from a fix)."""
        where, params = scope.sql()
        select, args = _select(no_decay())
        rows = self.db.query(
            f"SELECT {select} FROM patterns p WHERE p.commit_sha = ? AND {where} "
            "ORDER BY p.id LIMIT ?",
            (*args, commit_sha, *params, limit),
        )
        return [_row_to_stored(row).pattern for row in rows]

    def iter_patterns(self, scope: Scope) -> Iterator[Pattern]:
        return (stored.pattern for stored in self.iter_stored(scope))

    def iter_stored(self, scope: Scope, decay: Decay | None = None) -> Iterator[StoredPattern]:
        where, params = scope.sql()
        select, args = _select(decay or no_decay())
        for row in self.db.query(
            f"SELECT {select} FROM patterns p WHERE {where} ORDER BY p.id", (*args, *params)
        ):
            yield _row_to_stored(row)

    def candidates(self, row_ids: Iterable[int], filters: Filters) -> dict[int, StoredPattern]:
        """The given rows that pass every filter (eligible_sql)."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return {}
        where, args = eligible_sql(filters)
        select, select_args = _select(filters.decay)
        sql = (
            # CROSS JOIN fixes the loop order: look up each candidate by primary key
            # rather than let the planner scan the user's index.
            f"SELECT p.id, {select} FROM json_each(?) j CROSS JOIN patterns p "
            f"ON p.id = j.value WHERE {where}"
        )
        return {
            int(row[0]): _row_to_stored(row[1:])
            for row in self.db.query(sql, [*select_args, json.dumps(ids), *args])
        }

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

    # --- lexical search ----------------------------------------------------------------

    def lexical(
        self, terms: Sequence[str], columns: Sequence[str], limit: int, filters: Filters
    ) -> list[int]:
        """Row ids of the eligible patterns (eligible_sql) whose FTS5 columns contain any of
        the terms, best BM25 first: the limit counts only patterns a search may return."""
        if not terms:
            return []
        ors = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        match = "{" + " ".join(columns) + "} : (" + ors + ")"
        where, args = eligible_sql(filters)
        rows = self.db.query(
            "SELECT f.rowid FROM patterns_fts f JOIN patterns p ON p.id = f.rowid "
            f"WHERE patterns_fts MATCH ? AND {where} ORDER BY f.rank LIMIT ?",
            (match, *args, limit),
        )
        return [int(r[0]) for r in rows]

    def document_frequencies(self, terms: Sequence[str]) -> tuple[dict[str, int], int]:
        """How many patterns contain each term, and how many patterns there are."""
        if not terms:
            return {}, 0
        rows = self.db.query(
            "SELECT term, docs FROM term_stats WHERE term IN (SELECT value FROM json_each(?))",
            (json.dumps(list(terms)),),
        )
        total = self.db.query("SELECT count(*) FROM patterns")[0][0]
        return {str(t): int(d) for t, d in rows}, int(total)

    def token_sets(self, row_ids: Sequence[int], columns: Sequence[str]) -> dict[int, set[str]]:
        if not row_ids:
            return {}
        select = " || ' ' || ".join(columns)
        rows = self.db.query(
            f"SELECT rowid, {select} FROM patterns_fts WHERE rowid IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(list(row_ids)),),
        )
        return {int(r[0]): set(str(r[1]).split()) for r in rows}

    # --- outcomes ----------------------------------------------------------------------

    def record_outcome(
        self, pattern_id: str, scope: Scope, outcome: Outcome, at: str, decay: Decay | None = None
    ) -> StoredPattern | None:
        """Feedback on a pattern the scope sees (own, or a team pattern when opted in)."""
        success = 1 if outcome.is_success else 0
        with self.db.atomic() as c:
            row_id = self._visible_row(pattern_id, scope)
            if row_id is None:
                return None
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
        return self.get(pattern_id, scope, decay)

    def feedback(self, pattern_id: str, scope: Scope) -> list[tuple[str, str]]:
        row_id = self._visible_row(pattern_id, scope)
        rows = self.db.query(
            "SELECT outcome, recorded_at FROM feedback WHERE pattern = ? ORDER BY id",
            (row_id,),
        )
        return [(str(o), str(t)) for o, t in rows]

    # --- mined-commit cursor -----------------------------------------------------------

    def cursor(self, user_id: str, repository: str) -> str | None:
        rows = self.db.query(
            "SELECT last_commit FROM mined_cursor WHERE user_id = ? AND repository = ?",
            (user_id, repository),
        )
        return str(rows[0][0]) if rows else None

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
                self.record_revert(c, user_id, repository, revert)
            c.execute(
                "INSERT INTO mined_cursor (user_id, repository, last_commit, commits_read, "
                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, repository) "
                "DO UPDATE SET "
                "last_commit = excluded.last_commit, "
                "commits_read = mined_cursor.commits_read + excluded.commits_read, "
                "updated_at = excluded.updated_at",
                (user_id, repository, last_commit, commits_read, created_at),
            )
        return result

    # --- statistics --------------------------------------------------------------------

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

    def integrity_check(self) -> str:
        return str(self.db.query("PRAGMA integrity_check")[0][0])
