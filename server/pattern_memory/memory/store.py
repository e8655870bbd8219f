"""All SQL over the pattern database: patterns, their FTS5 tokens, feedback, the mined-commit
cursors, the embedding cache and the vector index. Other modules call these methods and
never write SQL themselves.

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
from .db import Database
from .lifecycle import Outcome, should_retire
from .migrations import migrate
from .text import text_hash, token_text
from .types import StoredPattern

VECTOR_TABLE = "pattern_vectors"

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
    fresh_since: str | None  # last activity at or after this time; None: no decay
    problem_type: str | None = None


@dataclass(frozen=True)
class UnembeddedRow:
    row_id: int
    lookup_text: str
    lookup_hash: str


def _row(values: Sequence[Any]) -> tuple[Any, ...]:
    """A result row with its values untyped (apsw's own typing is a union of SQL types)."""
    return tuple(values)


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
    def __init__(self, database: Database) -> None:
        self.db = database
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

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- patterns ----------------------------------------------------------------------

    def upsert(
        self, items: Sequence[tuple[Pattern, str]], user_id: str, created_at: str
    ) -> list[tuple[str, bool]]:
        """Store (pattern, lookup text) pairs; a pattern whose solution_hash (or id) the user
        already has is not stored again. Returns (stored id, newly added) per item."""
        out: list[tuple[str, bool]] = []
        with self.db.atomic() as c:
            for pattern, lookup in items:
                existing = c.execute(
                    "SELECT pattern_id FROM patterns WHERE (user_id = ? AND solution_hash = ?) "
                    "OR pattern_id = ? LIMIT 1",
                    (user_id, pattern.solution_hash, pattern.pattern_id),
                ).fetchall()
                if existing:
                    out.append((str(existing[0][0]), False))
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
                out.append((pattern.pattern_id, True))
        return out

    def _count_terms(self, c: apsw.Connection, tokens: str, delta: int) -> None:
        c.execute(
            "INSERT INTO term_stats (term, docs) SELECT DISTINCT value, ? FROM "
            "json_each(?) WHERE true ON CONFLICT (term) DO UPDATE SET docs = docs + ?",
            (delta, json.dumps(tokens.split()), delta),
        )

    def get(self, pattern_id: str) -> StoredPattern | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM patterns WHERE pattern_id = ?", (pattern_id,))
        return _row_to_stored(rows[0]) if rows else None

    def delete(self, pattern_id: str) -> bool:
        with self.db.atomic() as c:
            rows = c.execute(
                "SELECT id, vector_seq FROM patterns WHERE pattern_id = ?", (pattern_id,)
            ).fetchall()
            if not rows:
                return False
            row_id = rows[0][0]
            tokens = c.execute(
                "SELECT before || ' ' || after || ' ' || message FROM patterns_fts WHERE rowid = ?",
                (row_id,),
            ).fetchall()
            if tokens:
                self._count_terms(c, str(_row(tokens[0])[0]), -1)
            c.execute("DELETE FROM patterns_fts WHERE rowid = ?", (row_id,))
            if self.db.vec_available and self._vector_table_exists(c):
                c.execute(f"DELETE FROM {VECTOR_TABLE} WHERE rowid = ?", (row_id,))
            c.execute("DELETE FROM patterns WHERE id = ?", (row_id,))
            self._bump(c, "vector_epoch")
        return True

    def iter_patterns(self, scope: Scope) -> Iterator[Pattern]:
        where, params = scope.sql()
        for row in self.db.query(
            f"SELECT {_COLUMNS} FROM patterns p WHERE {where} ORDER BY p.id", params
        ):
            yield _row_to_stored(row).pattern

    def candidates(
        self, row_ids: Iterable[int], filters: Filters, min_rate: float, prior: tuple[float, float]
    ) -> dict[int, StoredPattern]:
        """The given rows that pass every filter: scope, not retired, not decayed, success
        rate (with the prior) at least min_rate, and the problem type if one is asked."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return {}
        where, params = filters.scope.sql()
        clauses = [where, "p.retired = 0"]
        args: list[Any] = [json.dumps(ids), *params]
        if filters.fresh_since is not None:
            clauses.append("max(p.created_at, coalesce(p.last_used, '')) >= ?")
            args.append(filters.fresh_since)
        if filters.problem_type is not None:
            clauses.append("p.problem_type = ?")
            args.append(filters.problem_type)
        clauses.append("(p.success_count + ?) >= ? * (p.success_count + p.failure_count + ?)")
        args.extend([prior[0], min_rate, prior[0] + prior[1]])
        sql = (
            # CROSS JOIN fixes the loop order: look up each candidate by primary key
            # rather than let the planner scan the user's index.
            f"SELECT p.id, {_COLUMNS} FROM json_each(?) j CROSS JOIN patterns p "
            f"ON p.id = j.value WHERE {' AND '.join(clauses)}"
        )
        return {int(row[0]): _row_to_stored(row[1:]) for row in self.db.query(sql, args)}

    # --- lexical search ----------------------------------------------------------------

    def lexical(self, terms: Sequence[str], columns: Sequence[str], limit: int) -> list[int]:
        """Row ids whose FTS5 columns contain any of the terms, best BM25 first."""
        if not terms:
            return []
        ors = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        match = "{" + " ".join(columns) + "} : (" + ors + ")"
        rows = self.db.query(
            "SELECT rowid FROM patterns_fts WHERE patterns_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
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

    def record_outcome(self, pattern_id: str, outcome: Outcome, at: str) -> StoredPattern | None:
        success = 1 if outcome.is_success else 0
        with self.db.atomic() as c:
            updated = c.execute(
                "UPDATE patterns SET success_count = success_count + ?, "
                "failure_count = failure_count + ?, uses = uses + 1, "
                "last_used = CASE WHEN ? THEN ? ELSE last_used END "
                "WHERE pattern_id = ? RETURNING success_count, uses, retired",
                (success, 1 - success, success, at, pattern_id),
            ).fetchall()
            if not updated:
                return None
            successes, uses, retired = _row(updated[0])
            if not retired and should_retire(int(successes), int(uses)):
                c.execute("UPDATE patterns SET retired = 1 WHERE pattern_id = ?", (pattern_id,))
            c.execute(
                "INSERT INTO feedback (pattern_id, outcome, recorded_at) VALUES (?, ?, ?)",
                (pattern_id, outcome.value, at),
            )
        return self.get(pattern_id)

    def feedback(self, pattern_id: str) -> list[tuple[str, str]]:
        rows = self.db.query(
            "SELECT outcome, recorded_at FROM feedback WHERE pattern_id = ? ORDER BY id",
            (pattern_id,),
        )
        return [(str(o), str(t)) for o, t in rows]

    # --- mined-commit cursor -----------------------------------------------------------

    def cursor(self, repository: str) -> str | None:
        rows = self.db.query(
            "SELECT last_commit FROM mined_cursor WHERE repository = ?", (repository,)
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
    ) -> list[tuple[str, bool]]:
        """A batch of mined patterns and the cursor that follows them, in one transaction:
        a kill at any moment leaves both or neither."""
        with self.db.atomic() as c:
            result = self.upsert(items, user_id, created_at)
            c.execute(
                "INSERT INTO mined_cursor (repository, last_commit, commits_read, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (repository) DO UPDATE SET "
                "last_commit = excluded.last_commit, "
                "commits_read = mined_cursor.commits_read + excluded.commits_read, "
                "updated_at = excluded.updated_at",
                (repository, last_commit, commits_read, created_at),
            )
        return result

    # --- embeddings --------------------------------------------------------------------

    def unembedded(self, limit: int) -> list[UnembeddedRow]:
        rows = self.db.query(
            "SELECT id, lookup_text, lookup_hash FROM patterns WHERE vector_seq IS NULL "
            "ORDER BY id LIMIT ?",
            (limit,),
        )
        return [UnembeddedRow(int(i), str(t), str(h)) for i, t, h in rows]

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        if not hashes:
            return {}
        rows = self.db.query(
            "SELECT text_hash, vector FROM embedding_cache WHERE model_id = ? AND text_hash IN "
            "(SELECT value FROM json_each(?))",
            (model_id, json.dumps(list(hashes))),
        )
        return {str(h): bytes(v) for h, v in rows}

    def save_vectors(
        self, model_id: str, dim: int, vectors: Sequence[tuple[int, str, bytes]]
    ) -> None:
        """Cache (text hash -> vector) and index (pattern row -> vector) in one transaction."""
        with self.db.atomic() as c:
            self._ensure_vector_table(c, model_id, dim)
            seq = self._bump(c, "vector_seq", len(vectors)) - len(vectors)
            for row_id, hash_, blob in vectors:
                seq += 1
                c.execute(
                    "INSERT OR IGNORE INTO embedding_cache (model_id, text_hash, vector) "
                    "VALUES (?, ?, ?)",
                    (model_id, hash_, blob),
                )
                c.execute("UPDATE patterns SET vector_seq = ? WHERE id = ?", (seq, row_id))
                if self.db.vec_available:
                    c.execute(f"DELETE FROM {VECTOR_TABLE} WHERE rowid = ?", (row_id,))
                    c.execute(
                        f"INSERT INTO {VECTOR_TABLE} (rowid, embedding) VALUES (?, ?)",
                        (row_id, blob),
                    )

    def vector_state(self) -> tuple[int, int, str | None]:
        """(epoch, highest vector sequence, model id): a changed epoch means rebuild."""
        rows = dict(
            self.db.query(
                "SELECT key, value FROM meta WHERE key IN "
                "('vector_epoch', 'vector_seq', 'vector_model')"
            )
        )
        return (
            int(rows.get("vector_epoch", 0)),
            int(rows.get("vector_seq", 0)),
            rows.get("vector_model"),
        )

    def vectors_after(self, seq: int) -> list[tuple[int, int, str, str, bytes]]:
        """(row id, vector seq, user id, source, float32 vector) of patterns embedded after
        `seq`. From the sqlite-vec table when the extension is loaded, else from the cache."""
        model = self.vector_state()[2]
        if model is None:
            return []
        if self.db.vec_available:
            sql = (
                "SELECT p.id, p.vector_seq, p.user_id, p.source, v.embedding "
                f"FROM {VECTOR_TABLE} v JOIN patterns p ON p.id = v.rowid WHERE p.vector_seq > ?"
            )
            params: tuple[Any, ...] = (seq,)
        else:
            sql = (
                "SELECT p.id, p.vector_seq, p.user_id, p.source, c.vector FROM patterns p "
                "JOIN embedding_cache c ON c.model_id = ? AND c.text_hash = p.lookup_hash "
                "WHERE p.vector_seq > ?"
            )
            params = (model, seq)
        return [
            (int(a), int(b), str(u), str(s), bytes(v))
            for a, b, u, s, v in self.db.query(sql, params)
        ]

    def vec_knn(self, query: bytes, k: int) -> list[tuple[int, float]]:
        """Exact KNN through sqlite-vec (cosine distance); the baseline the NumPy index is
        measured and tested against."""
        rows = self.db.query(
            f"SELECT rowid, distance FROM {VECTOR_TABLE} WHERE embedding MATCH ? AND k = ? "
            "ORDER BY distance",
            (query, k),
        )
        return [(int(r), float(d)) for r, d in rows]

    def reset_vectors(self, model_id: str | None, dim: int | None) -> None:
        """Forget every pattern's vector (the cache stays): they are embedded again, from
        the cache when the model is unchanged. Used by `reindex` and on a model change."""
        with self.db.atomic() as c:
            c.execute("UPDATE patterns SET vector_seq = NULL WHERE vector_seq IS NOT NULL")
            if self.db.vec_available:
                c.execute(f"DROP TABLE IF EXISTS {VECTOR_TABLE}")
            c.execute("DELETE FROM meta WHERE key = 'vector_model'")
            self._bump(c, "vector_epoch")
            if model_id is not None and dim is not None:
                self._ensure_vector_table(c, model_id, dim)

    def rebuild_vector_table(self) -> int:
        """Recreate the sqlite-vec table from the patterns' cached vectors; returns how many
        it holds. (No-op without the extension: the cache is then the index.)"""
        if not self.db.vec_available:
            return 0
        with self.db.atomic() as c:
            meta = dict(
                _row(r)
                for r in c.execute(
                    "SELECT key, value FROM meta WHERE key IN ('vector_model', 'vector_dim')"
                )
            )
            if "vector_model" not in meta:
                return 0
            c.execute(f"DROP TABLE IF EXISTS {VECTOR_TABLE}")
            self._ensure_vector_table(c, meta["vector_model"], int(meta["vector_dim"]))
            c.execute(
                f"INSERT INTO {VECTOR_TABLE} (rowid, embedding) SELECT p.id, c.vector "
                "FROM patterns p JOIN embedding_cache c ON c.model_id = ? "
                "AND c.text_hash = p.lookup_hash WHERE p.vector_seq IS NOT NULL",
                (meta["vector_model"],),
            )
            self._bump(c, "vector_epoch")
            return int(_row(c.execute(f"SELECT count(*) FROM {VECTOR_TABLE}").fetchall()[0])[0])

    def vector_index_consistent(self) -> bool:
        """False when the sqlite-vec table lacks vectors that the patterns say exist (e.g.
        written by a process that could not load the extension)."""
        if not self.db.vec_available or self.vector_state()[2] is None:
            return True
        with self.db.atomic() as c:
            if not self._vector_table_exists(c):
                return False
            indexed = _row(c.execute(f"SELECT count(*) FROM {VECTOR_TABLE}").fetchall()[0])[0]
        embedded = self.db.query("SELECT count(*) FROM patterns WHERE vector_seq IS NOT NULL")[0][0]
        return int(indexed) == int(embedded)

    def _vector_table_exists(self, c: apsw.Connection) -> bool:
        return bool(
            c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (VECTOR_TABLE,)).fetchall()
        )

    def _ensure_vector_table(self, c: apsw.Connection, model_id: str, dim: int) -> None:
        current = c.execute("SELECT value FROM meta WHERE key = 'vector_model'").fetchall()
        if current and current[0][0] != model_id:
            raise StoreError(
                f"the pattern vectors were made by {current[0][0]}, not {model_id}; "
                "run `pattern-memory reindex`"
            )
        if self.db.vec_available and not self._vector_table_exists(c):
            c.execute(
                f"CREATE VIRTUAL TABLE {VECTOR_TABLE} USING vec0 "
                f"(embedding float[{int(dim)}] distance_metric=cosine)"
            )
        if not current:
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_model', ?)", (model_id,)
            )
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_dim', ?)", (str(dim),)
            )

    def _bump(self, c: apsw.Connection, key: str, by: int = 1) -> int:
        rows = c.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + ? RETURNING value",
            (key, str(by), by),
        ).fetchall()
        return int(_row(rows[0])[0])

    # --- statistics --------------------------------------------------------------------

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
            self.db.query("SELECT repository, last_commit FROM mined_cursor ORDER BY repository")
        )
        feedback = self.db.query("SELECT count(*) FROM feedback")[0][0]
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

    def top_files(self, repository: str, limit: int) -> list[tuple[str, int]]:
        rows = self.db.query(
            "SELECT file_path, count(*) FROM patterns WHERE repository = ? AND file_path != '' "
            "GROUP BY file_path ORDER BY 2 DESC, 1 LIMIT ?",
            (repository, limit),
        )
        return [(str(f), int(n)) for f, n in rows]

    def add_metrics(
        self, counters: dict[str, int], samples: dict[str, list[float]], at: str, keep: int
    ) -> None:
        """Add counter increments and timing samples (keeping the last `keep` per name)."""
        with self.db.atomic() as c:
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
