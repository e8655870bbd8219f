"""Named schema migrations, applied in order and recorded in the database.

Each migration runs once, inside the same write transaction that records its name, so a
crash between two migrations leaves the database at a well-defined version. Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import apsw

from .db import Database
from .shape_store import fill_shapes


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[apsw.Connection], None]


def _initial_schema(c: apsw.Connection) -> None:
    c.execute(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

        CREATE TABLE patterns (
            id            INTEGER PRIMARY KEY,
            pattern_id    TEXT NOT NULL UNIQUE,
            user_id       TEXT NOT NULL,
            source        TEXT NOT NULL,
            problem_type  TEXT NOT NULL,
            before_code   TEXT NOT NULL,
            after_code    TEXT NOT NULL,
            commit_msg    TEXT NOT NULL,
            author        TEXT NOT NULL,
            date          TEXT NOT NULL,
            confidence    REAL NOT NULL,
            commit_sha    TEXT NOT NULL,
            repository    TEXT NOT NULL,
            file_path     TEXT NOT NULL,
            language      TEXT NOT NULL,
            before_lines  TEXT,
            after_lines   TEXT,
            solution_hash TEXT NOT NULL,
            lookup_text   TEXT NOT NULL,
            lookup_hash   TEXT NOT NULL,
            vector_seq    INTEGER,
            success_count INTEGER NOT NULL DEFAULT 0,
            failure_count INTEGER NOT NULL DEFAULT 0,
            uses          INTEGER NOT NULL DEFAULT 0,
            last_used     TEXT,
            created_at    TEXT NOT NULL,
            retired       INTEGER NOT NULL DEFAULT 0,
            UNIQUE (user_id, solution_hash)
        );
        CREATE INDEX patterns_unembedded ON patterns (id) WHERE vector_seq IS NULL;
        CREATE INDEX patterns_vector_seq ON patterns (vector_seq) WHERE vector_seq IS NOT NULL;
        CREATE INDEX patterns_repository ON patterns (repository);

        -- rowid = patterns.id; columns hold code tokens (identifiers and their parts).
        CREATE VIRTUAL TABLE patterns_fts USING fts5 (
            before, after, message, tokenize = "unicode61 tokenchars '_'"
        );
        CREATE VIRTUAL TABLE patterns_fts_terms USING fts5vocab (patterns_fts, 'row');

        CREATE TABLE feedback (
            id          INTEGER PRIMARY KEY,
            pattern_id  TEXT NOT NULL REFERENCES patterns (pattern_id) ON DELETE CASCADE,
            outcome     TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX feedback_pattern ON feedback (pattern_id);

        CREATE TABLE mined_cursor (
            repository   TEXT PRIMARY KEY,
            last_commit  TEXT NOT NULL,
            commits_read INTEGER NOT NULL,
            updated_at   TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Embeddings by content: re-indexing never embeds the same text twice.
        CREATE TABLE embedding_cache (
            model_id  TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            vector    BLOB NOT NULL,
            PRIMARY KEY (model_id, text_hash)
        ) WITHOUT ROWID;

        CREATE TABLE metric_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)
            WITHOUT ROWID;
        """
    )


def _term_stats(c: apsw.Connection) -> None:
    """Document frequency per token, kept with the patterns: FTS5's own vocabulary table
    counts by walking a term's whole posting list (milliseconds per common term)."""
    c.execute(
        """
        CREATE TABLE term_stats (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO term_stats (term, docs) SELECT term, doc FROM patterns_fts_terms;
        """
    )


def _metric_samples(c: apsw.Connection) -> None:
    """Recent timings (e.g. patterns.lookup_ms) from every process, for `stats`."""
    c.execute(
        """
        CREATE TABLE metric_samples (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,
            value       REAL NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX metric_samples_name ON metric_samples (name, id);
        """
    )


def _pattern_shapes(c: apsw.Connection) -> None:
    """Template shingles per pattern (shape_store.py), so that code using other names than
    a pattern's is still found; filled here for the patterns already stored."""
    c.execute(
        """
        CREATE TABLE pattern_shapes (
            shingle INTEGER NOT NULL,
            size    INTEGER NOT NULL,
            pattern INTEGER NOT NULL,
            PRIMARY KEY (shingle, size, pattern)
        ) WITHOUT ROWID;
        CREATE INDEX pattern_shapes_pattern ON pattern_shapes (pattern, shingle);
        """
    )
    fill_shapes(c)


def _judged_patterns(c: apsw.Connection) -> None:
    """The patterns with a record (an outcome, or retired): the few that the success-rate
    and retired filters can exclude, found without scanning every pattern."""
    c.execute("CREATE INDEX patterns_judged ON patterns (id) WHERE uses > 0 OR retired = 1")


_PATTERN_COLUMNS = (
    "id, pattern_id, user_id, source, problem_type, before_code, after_code, commit_msg, "
    "author, date, confidence, commit_sha, repository, file_path, language, before_lines, "
    "after_lines, solution_hash, lookup_text, lookup_hash, vector_seq, success_count, "
    "failure_count, uses, last_used, created_at, retired"
)


def _owner_scoped_identity(c: apsw.Connection) -> None:
    """A pattern's identity and dedupe are per owner: (user_id, pattern_id) and (user_id,
    solution_hash) are unique, not pattern_id alone, so another user's import of the same
    patterns stores their own copies. Feedback points at the pattern's row; the mined-commit
    cursor is per (user_id, repository). Row ids are kept (FTS5, shapes and vectors use
    them). Old cursors go to every user with patterns from that repository."""
    c.execute(
        f"""
        CREATE TABLE patterns_owned (
            id            INTEGER PRIMARY KEY,
            pattern_id    TEXT NOT NULL,
            user_id       TEXT NOT NULL,
            source        TEXT NOT NULL,
            problem_type  TEXT NOT NULL,
            before_code   TEXT NOT NULL,
            after_code    TEXT NOT NULL,
            commit_msg    TEXT NOT NULL,
            author        TEXT NOT NULL,
            date          TEXT NOT NULL,
            confidence    REAL NOT NULL,
            commit_sha    TEXT NOT NULL,
            repository    TEXT NOT NULL,
            file_path     TEXT NOT NULL,
            language      TEXT NOT NULL,
            before_lines  TEXT,
            after_lines   TEXT,
            solution_hash TEXT NOT NULL,
            lookup_text   TEXT NOT NULL,
            lookup_hash   TEXT NOT NULL,
            vector_seq    INTEGER,
            success_count INTEGER NOT NULL DEFAULT 0,
            failure_count INTEGER NOT NULL DEFAULT 0,
            uses          INTEGER NOT NULL DEFAULT 0,
            last_used     TEXT,
            created_at    TEXT NOT NULL,
            retired       INTEGER NOT NULL DEFAULT 0,
            UNIQUE (user_id, solution_hash),
            UNIQUE (user_id, pattern_id)
        );
        INSERT INTO patterns_owned ({_PATTERN_COLUMNS})
            SELECT {_PATTERN_COLUMNS} FROM patterns;

        CREATE TABLE feedback_owned (
            id          INTEGER PRIMARY KEY,
            pattern     INTEGER NOT NULL REFERENCES patterns_owned (id) ON DELETE CASCADE,
            outcome     TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        INSERT INTO feedback_owned (id, pattern, outcome, recorded_at)
            SELECT f.id, p.id, f.outcome, f.recorded_at
            FROM feedback f JOIN patterns p ON p.pattern_id = f.pattern_id;
        DROP TABLE feedback;

        CREATE TABLE mined_cursor_owned (
            user_id      TEXT NOT NULL,
            repository   TEXT NOT NULL,
            last_commit  TEXT NOT NULL,
            commits_read INTEGER NOT NULL,
            updated_at   TEXT NOT NULL,
            PRIMARY KEY (user_id, repository)
        ) WITHOUT ROWID;
        INSERT INTO mined_cursor_owned
            SELECT DISTINCT p.user_id, m.repository, m.last_commit, m.commits_read, m.updated_at
            FROM mined_cursor m JOIN patterns p ON p.repository = m.repository;
        DROP TABLE mined_cursor;
        ALTER TABLE mined_cursor_owned RENAME TO mined_cursor;

        -- Renaming updates feedback's reference (patterns_owned -> patterns).
        DROP TABLE patterns;
        ALTER TABLE patterns_owned RENAME TO patterns;
        ALTER TABLE feedback_owned RENAME TO feedback;
        CREATE INDEX patterns_unembedded ON patterns (id) WHERE vector_seq IS NULL;
        CREATE INDEX patterns_vector_seq ON patterns (vector_seq) WHERE vector_seq IS NOT NULL;
        CREATE INDEX patterns_repository ON patterns (repository);
        CREATE INDEX patterns_judged ON patterns (id) WHERE uses > 0 OR retired = 1;
        CREATE INDEX feedback_pattern ON feedback (pattern);
        """
    )


def _forgotten(c: apsw.Connection) -> None:
    """Tombstones: the changes a user forgot, so that indexing (after a history rewrite, or
    the same repository at another path) or importing does not bring them back."""
    c.execute(
        """
        CREATE TABLE forgotten (
            user_id       TEXT NOT NULL,
            solution_hash TEXT NOT NULL,
            forgotten_at  TEXT NOT NULL,
            PRIMARY KEY (user_id, solution_hash)
        ) WITHOUT ROWID;
        """
    )


def _change_generation(c: apsw.Connection) -> None:
    """A generation number in meta that every change to the patterns or their feedback
    bumps (triggers, so no writer can forget it): a cheap token that readers on any thread
    or process can compare to know whether what they cached is stale."""
    bump = "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_generation';"
    c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('change_generation', '0')")
    for table, event in (
        ("patterns", "INSERT"),
        ("patterns", "UPDATE"),
        ("patterns", "DELETE"),
        ("feedback", "INSERT"),
    ):
        c.execute(
            f"CREATE TRIGGER {table}_{event.lower()}_generation AFTER {event} ON {table} "
            f"BEGIN {bump} END"
        )


def _evidence_and_reverts(c: apsw.Connection) -> None:
    """Age by the latest evidence, not by when a pattern entered the store (lifecycle.py).
    - evidence_count: 1 + the later commits that made the same change (pattern_sightings
      holds their shas, so that mining the same commit again counts nothing);
    - last_evidence: the latest of the commit date, a repeat's date, a successful use (old
      rows: their date, or their last successful use when later);
    - repository_clock: per owner and repository, the newest commit date learned from it,
      the clock that mined patterns age against;
    - reverts: commits that a later commit reverted (git revert's "This reverts commit"),
      and reverted_by on their patterns (materialised: a revert of the revert clears it)."""
    c.execute(
        """
        ALTER TABLE patterns ADD COLUMN evidence_count INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE patterns ADD COLUMN last_evidence TEXT NOT NULL DEFAULT '';
        ALTER TABLE patterns ADD COLUMN reverted_by TEXT;
        UPDATE patterns SET last_evidence = max(date, coalesce(last_used, ''));
        CREATE TABLE pattern_sightings (
            pattern    INTEGER NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
            commit_sha TEXT NOT NULL,
            date       TEXT NOT NULL,
            PRIMARY KEY (pattern, commit_sha)
        ) WITHOUT ROWID;
        CREATE TABLE repository_clock (
            user_id    TEXT NOT NULL,
            repository TEXT NOT NULL,
            newest     TEXT NOT NULL,
            PRIMARY KEY (user_id, repository)
        ) WITHOUT ROWID;
        INSERT INTO repository_clock (user_id, repository, newest)
            SELECT user_id, repository, max(date) FROM patterns WHERE source = 'git'
            GROUP BY user_id, repository;
        CREATE TABLE reverts (
            user_id     TEXT NOT NULL,
            commit_sha  TEXT NOT NULL,
            reverted_by TEXT NOT NULL,
            PRIMARY KEY (user_id, commit_sha, reverted_by)
        ) WITHOUT ROWID;
        CREATE INDEX patterns_commit ON patterns (commit_sha);
        CREATE INDEX patterns_reverted ON patterns (id) WHERE reverted_by IS NOT NULL;
        """
    )


def _conversation_turns(c: apsw.Connection) -> None:
    """Which patterns were injected into, and forged from, which turn of which assistant
    conversation (the proxy's conversation key, a coding agent's session), so that the
    user's next message can reinforce or charge them even after a restart. `conversations`
    holds a session's latest turn number for callers that do not count turns themselves
    (hooks). Kept a few weeks at most: an outcome is only read on the very next turn."""
    c.execute(
        """
        CREATE TABLE conversation_turns (
            user_id      TEXT NOT NULL,
            conversation TEXT NOT NULL,
            turn         INTEGER NOT NULL,
            role         TEXT NOT NULL CHECK (role IN ('injected', 'forged')),
            pattern_id   TEXT NOT NULL,
            recorded_at  TEXT NOT NULL,
            PRIMARY KEY (user_id, conversation, turn, role, pattern_id)
        ) WITHOUT ROWID;
        CREATE INDEX conversation_turns_age ON conversation_turns (recorded_at);
        CREATE TABLE conversations (
            user_id      TEXT NOT NULL,
            conversation TEXT NOT NULL,
            turn         INTEGER NOT NULL,
            updated_at   TEXT NOT NULL,
            PRIMARY KEY (user_id, conversation)
        ) WITHOUT ROWID;
        CREATE INDEX conversations_age ON conversations (updated_at);
        """
    )


def _team_sync(c: apsw.Connection) -> None:
    """What `pattern-memory sync` knows per team server (team/sync.py, memory/team_store.py):
    - team_sync_state: the incremental pull cursor (the server's next_cursor) and when each
      direction last succeeded;
    - team_pushed: which of the user's own patterns a server already has (its id there), so
      that a sync pushes only the rest;
    - team_patterns: the team's patterns pulled into this store (source = 'team' rows), by
      their server id, with who made and who contributed them, and the last local feedback
      row already sent (later feedback rows on the pattern wait to be pushed).
    Rows follow their pattern (ON DELETE CASCADE)."""
    c.execute(
        """
        CREATE TABLE team_sync_state (
            server     TEXT PRIMARY KEY,
            cursor     TEXT,
            last_pull  TEXT,
            last_push  TEXT
        ) WITHOUT ROWID;
        CREATE TABLE team_pushed (
            server    TEXT NOT NULL,
            pattern   INTEGER NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
            remote_id TEXT NOT NULL,
            pushed_at TEXT NOT NULL,
            PRIMARY KEY (server, pattern)
        ) WITHOUT ROWID;
        CREATE INDEX team_pushed_pattern ON team_pushed (pattern);
        CREATE TABLE team_patterns (
            server            TEXT NOT NULL,
            remote_id         TEXT NOT NULL,
            pattern           INTEGER NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
            created_by        TEXT NOT NULL,
            contributors      TEXT NOT NULL,
            remote_updated_at TEXT NOT NULL,
            feedback_sent     INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (server, remote_id)
        ) WITHOUT ROWID;
        CREATE INDEX team_patterns_pattern ON team_patterns (pattern);
        """
    )


def _pattern_templates(c: apsw.Connection) -> None:
    """Each pattern's Prepared (template_store.py: its withheld check, match template and
    abstract edit) by content key, so that the editor's finder does not parse every
    candidate's code again after a start. Not filled here (that would parse every stored
    pattern while the store opens): the finder writes what it builds for the patterns
    stored before, and `reindex` fills them all."""
    c.execute(
        """
        CREATE TABLE pattern_templates (
            key     TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            text    TEXT NOT NULL
        ) WITHOUT ROWID;
        """
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial_schema", _initial_schema),
    Migration("0002_term_stats", _term_stats),
    Migration("0003_metric_samples", _metric_samples),
    Migration("0004_pattern_shapes", _pattern_shapes),
    Migration("0005_judged_patterns", _judged_patterns),
    Migration("0006_owner_scoped_identity", _owner_scoped_identity),
    Migration("0007_forgotten", _forgotten),
    Migration("0008_change_generation", _change_generation),
    Migration("0009_evidence_and_reverts", _evidence_and_reverts),
    Migration("0010_conversation_turns", _conversation_turns),
    Migration("0011_team_sync", _team_sync),
    Migration("0012_pattern_templates", _pattern_templates),
)


def schema_version() -> str:
    return MIGRATIONS[-1].name


def _up_to_date(database: Database) -> bool:
    """Whether nothing is left to write (read only: a reader never waits for a writer)."""
    rows = database.query(
        "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'), "
        "(SELECT count(*) FROM sqlite_master WHERE name = 'meta')"
    )
    if rows[0] != (1, 1):
        return False
    done = {str(r[0]) for r in database.query("SELECT name FROM schema_migrations")}
    meta = dict(
        database.query("SELECT key, value FROM meta WHERE key IN ('schema_version', 'vec_version')")
    )
    return (
        all(m.name in done for m in MIGRATIONS)
        and meta.get("schema_version") == schema_version()
        and (database.vec_version is None or meta.get("vec_version") == database.vec_version)
    )


def migrate(database: Database) -> list[str]:
    """Apply the migrations this database lacks; returns the names applied. Takes the
    write lock only when there is something to write."""
    if _up_to_date(database):
        return []
    with database.atomic() as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) WITHOUT ROWID"
        )
        done = {row[0] for row in c.execute("SELECT name FROM schema_migrations")}
        applied: list[str] = []
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            migration.apply(c)
            now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            c.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (migration.name, now),
            )
            applied.append(migration.name)
        c.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (schema_version(),),
        )
        if database.vec_version is not None:
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('vec_version', ?)",
                (database.vec_version,),
            )
    return applied
