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
from typing import Any

import apsw

from ..errors import StoreError
from ..patterns import LineRange, Pattern, PatternSource, ProblemType
from .db import Database, row_values
from .lifecycle import PRIOR_FAILURES, PRIOR_SUCCESSES, Outcome, should_retire
from .migrations import migrate
from .shape_store import ShapeStore, add_shapes, forget_shapes
from .text import text_hash, token_text
from .transfer import Lifecycle
from .types import SaveStatus, StoredPattern
from .vector_store import VectorStore

_COLUMNS = (
    "pattern_id, problem_type, before_code, after_code, commit_msg, author, date, confidence, "
    "commit_sha, file_path, language, before_lines, after_lines, solution_hash, source, "
    "repository, user_id, success_count, failure_count, uses, last_used, created_at, retired"
)


@dataclass(frozen=True)
class Scope:
    """Whose patterns a query sees: the user's own, plus the team's when opted in."""

    user_id: str
    include_team: bool

    def sql(self, alias: str = "p") -> tuple[str, tuple[Any, ...]]:
        own = f"({alias}.user_id = ? AND {alias}.source != ?)"
        team = PatternSource.TEAM.value
        if self.include_team:
            return f"({own} OR {alias}.source = ?)", (self.user_id, team, team)
        return own, (self.user_id, team)


@dataclass(frozen=True)
class Filters:
    """The seed's filters, as the store applies them."""

    scope: Scope
    fresh_since: str | None  # learned (created_at) at or after this time; None: no decay
    problem_type: str | None = None
    min_success_rate: float = 0.0


def rate_passes_sql(min_rate: float) -> tuple[str, tuple[Any, ...]]:
    """minSuccessRate judges a pattern by its record: one without outcomes yet passes (it
    ranks by the prior, below proven ones); one with outcomes needs its success rate (with
    the prior, lifecycle.success_rate) at least min_rate."""
    clause = "(p.uses = 0 OR (p.success_count + ?) >= ? * (p.success_count + p.failure_count + ?))"
    return clause, (PRIOR_SUCCESSES, min_rate, PRIOR_SUCCESSES + PRIOR_FAILURES)


def eligible_sql(filters: Filters) -> tuple[str, list[Any]]:
    """The WHERE clause (over `patterns p`) of the patterns a search may return."""
    where, params = filters.scope.sql()
    clauses = [where, "p.retired = 0"]
    args: list[Any] = [*params]
    if filters.fresh_since is not None:
        clauses.append("p.created_at >= ?")
        args.append(filters.fresh_since)
    if filters.problem_type is not None:
        clauses.append("p.problem_type = ?")
        args.append(filters.problem_type)
    rate, rate_args = rate_passes_sql(filters.min_success_rate)
    clauses.append(rate)
    args.extend(rate_args)
    return " AND ".join(clauses), args


def _lines(value: LineRange | None) -> str | None:
    return json.dumps(value.to_json()) if value else None


def _row_to_stored(row: Sequence[Any]) -> StoredPattern:
    pattern = Pattern(
        pattern_id=row[0],
        problem_type=ProblemType(row[1]),
        before_code=row[2],
        after_code=row[3],
        commit_msg=row[4],
        author=row[5],
        date=row[6],
        confidence=float(row[7]),
        commit=row[8],
        file_path=row[9],
        language=row[10],
        before_lines=LineRange.from_json(json.loads(row[11])) if row[11] else None,
        after_lines=LineRange.from_json(json.loads(row[12])) if row[12] else None,
        solution_hash=row[13],
        source=PatternSource(row[14]),
        repository=row[15],
    )
    return StoredPattern(
        pattern=pattern,
        user_id=row[16],
        success_count=int(row[17]),
        failure_count=int(row[18]),
        uses=int(row[19]),
        last_used=row[20],
        created_at=row[21],
        retired=bool(row[22]),
    )


class PatternStore:
    """Patterns, their tokens, outcomes, cursors and counts; `vectors` and `shapes` hold the
    rest."""

    def __init__(self, database: Database) -> None:
        self.db = database
        self.vectors = VectorStore(database)
        self.shapes = ShapeStore(database)
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
                        "SELECT pattern_id, solution_hash FROM patterns WHERE user_id = ? "
                        "AND (solution_hash = ? OR pattern_id = ?)",
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
                same = [str(r[0]) for r in existing if r[1] == pattern.solution_hash]
                if same:
                    out.append((same[0], SaveStatus.KNOWN))
                    continue
                if existing:
                    out.append((pattern.pattern_id, SaveStatus.CONFLICT))
                    continue
                c.execute(
                    "INSERT INTO patterns (pattern_id, problem_type, before_code, after_code, "
                    "commit_msg, author, date, confidence, commit_sha, file_path, language, "
                    "before_lines, after_lines, solution_hash, source, repository, user_id, "
                    "lookup_text, lookup_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    ),
                )
                row_id = c.last_insert_rowid()
                if state is not None:
                    c.execute(
                        "UPDATE patterns SET success_count = ?, failure_count = ?, uses = ?, "
                        "last_used = ?, created_at = ?, retired = ? WHERE id = ?",
                        (
                            state.success_count,
                            state.failure_count,
                            state.uses,
                            state.last_used,
                            state.created_at,
                            int(state.retired),
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

    def get(self, pattern_id: str, scope: Scope) -> StoredPattern | None:
        """The pattern as the scope sees it (own first, then the team's when opted in)."""
        row_id = self._visible_row(pattern_id, scope)
        if row_id is None:
            return None
        rows = self.db.query(f"SELECT {_COLUMNS} FROM patterns WHERE id = ?", (row_id,))
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
        return True

    def iter_patterns(self, scope: Scope) -> Iterator[Pattern]:
        return (stored.pattern for stored in self.iter_stored(scope))

    def iter_stored(self, scope: Scope) -> Iterator[StoredPattern]:
        where, params = scope.sql()
        for row in self.db.query(
            f"SELECT {_COLUMNS} FROM patterns p WHERE {where} ORDER BY p.id", params
        ):
            yield _row_to_stored(row)

    def candidates(self, row_ids: Iterable[int], filters: Filters) -> dict[int, StoredPattern]:
        """The given rows that pass every filter (eligible_sql)."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return {}
        where, args = eligible_sql(filters)
        sql = (
            # CROSS JOIN fixes the loop order: look up each candidate by primary key
            # rather than let the planner scan the user's index.
            f"SELECT p.id, {_COLUMNS} FROM json_each(?) j CROSS JOIN patterns p "
            f"ON p.id = j.value WHERE {where}"
        )
        return {
            int(row[0]): _row_to_stored(row[1:])
            for row in self.db.query(sql, [json.dumps(ids), *args])
        }

    def excluded_by_record(self, filters: Filters) -> set[int]:
        """Row ids that fail the filters by their record (retired, or a success rate below
        the minimum): few, found through the patterns_judged index. The vector index masks
        them; it knows the other filters itself."""
        rate, rate_args = rate_passes_sql(filters.min_success_rate)
        rows = self.db.query(
            "SELECT p.id FROM patterns p WHERE (p.uses > 0 OR p.retired = 1) "
            f"AND NOT (p.retired = 0 AND {rate})",
            rate_args,
        )
        return {int(r[0]) for r in rows}

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
        self, pattern_id: str, scope: Scope, outcome: Outcome, at: str
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
                "last_used = CASE WHEN ? THEN ? ELSE last_used END "
                "WHERE id = ? RETURNING success_count, uses, retired",
                (success, 1 - success, success, at, row_id),
            ).fetchall()
            successes, uses, retired = row_values(updated[0])
            if not retired and should_retire(int(successes), int(uses)):
                c.execute("UPDATE patterns SET retired = 1 WHERE id = ?", (row_id,))
            c.execute(
                "INSERT INTO feedback (pattern, outcome, recorded_at) VALUES (?, ?, ?)",
                (row_id, outcome.value, at),
            )
        return self.get(pattern_id, scope)

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
    ) -> list[tuple[str, SaveStatus]]:
        """A batch of mined patterns and the user's cursor that follows them, in one
        transaction: a kill at any moment leaves both or neither."""
        with self.db.atomic() as c:
            result = self.upsert(items, user_id, created_at, skip_forgotten=True)
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

    def lifecycle_counts(self, scope: Scope, fresh_since: str | None) -> tuple[int, int, int]:
        """(active, decayed, retired) patterns in the scope; decayed: learned before
        `fresh_since` and not retired."""
        where, params = scope.sql()
        since = fresh_since if fresh_since is not None else ""
        total, retired, decayed = self.db.query(
            "SELECT count(*), coalesce(sum(retired), 0), "
            f"coalesce(sum(retired = 0 AND created_at < ?), 0) FROM patterns p WHERE {where}",
            (since, *params),
        )[0]
        return int(total) - int(retired) - int(decayed), int(decayed), int(retired)

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

    def add_metrics(
        self,
        counters: dict[str, int],
        samples: dict[str, list[float]],
        at: str,
        keep: int,
        *,
        wait: bool = True,
    ) -> None:
        """Add counter increments and timing samples (keeping the last `keep` per name).
        wait=False: StoreError at once when another connection holds the write lock."""
        with self.db.atomic(wait=wait) as c:
            for name, value in counters.items():
                c.execute(
                    "INSERT INTO metric_counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET value = value + excluded.value",
                    (name, value),
                )
            for name, values in samples.items():
                c.executemany(
                    "INSERT INTO metric_samples (name, value, recorded_at) VALUES (?, ?, ?)",
                    [(name, v, at) for v in values],
                )
                c.execute(
                    "DELETE FROM metric_samples WHERE name = ? AND id <= (SELECT id FROM "
                    "metric_samples WHERE name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (name, name, keep),
                )

    def metric_samples(self, name: str) -> list[float]:
        rows = self.db.query("SELECT value FROM metric_samples WHERE name = ? ORDER BY id", (name,))
        return [float(r[0]) for r in rows]

    def persisted_counters(self) -> dict[str, int]:
        return {str(n): int(v) for n, v in self.db.query("SELECT name, value FROM metric_counters")}

    def integrity_check(self) -> str:
        return str(self.db.query("PRAGMA integrity_check")[0][0])
