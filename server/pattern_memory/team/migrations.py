"""The team database's schema: named migrations, applied in order, recorded in a table.

Several app processes may start at once (`--workers`, several hosts): the whole upgrade runs
in one transaction under a PostgreSQL advisory lock, so exactly one applies each migration
and the others find it recorded. Never edit a migration that has shipped: add a new one.

The seed's tables (`patterns`, `pattern_feedback`, `adapter_versions`) keep its column names
and types; its inline `INDEX` lines are not PostgreSQL and become CREATE INDEX statements.
Every row belongs to a team (`team_id`), and the seed's `UNIQUE (solution_hash)` is per team.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sql import Connection, fetch_all

EMBEDDING_DIMENSIONS = 384
# Any constant; two processes asking for it wait for each other.
_MIGRATION_LOCK = 0x7061_7474_6D65_6D  # "pattmem"


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


_INITIAL = f"""
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE teams (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name        VARCHAR(100) NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        VARCHAR(255) NOT NULL,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

-- A key is "pm_<key_id>_<secret>": key_id finds the row, only sha256(secret) is stored.
CREATE TABLE api_keys (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key_id        VARCHAR(32) NOT NULL UNIQUE,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash   BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at    TIMESTAMPTZ
);

CREATE TABLE patterns (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id         UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    problem_type    VARCHAR(50) NOT NULL,
    solution_hash   VARCHAR(64) NOT NULL,
    code_before     TEXT NOT NULL,
    code_after      TEXT NOT NULL,
    commit_msg      TEXT NOT NULL DEFAULT '',
    language        VARCHAR(50) NOT NULL DEFAULT '',
    repository      VARCHAR(500) NOT NULL DEFAULT '',
    file_path       VARCHAR(1000) NOT NULL DEFAULT '',
    confidence      DOUBLE PRECISION,
    success_count   INTEGER NOT NULL DEFAULT 0,
    failure_count   INTEGER NOT NULL DEFAULT 0,
    upload_count    INTEGER NOT NULL DEFAULT 1,
    last_used       TIMESTAMPTZ,
    created_by      VARCHAR(255) NOT NULL,
    created_by_user UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    embedding       vector({EMBEDDING_DIMENSIONS}),
    search_tsv      tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', commit_msg || ' ' || code_before || ' ' || code_after)
    ) STORED,
    CONSTRAINT unique_solution UNIQUE (team_id, solution_hash)
);
CREATE INDEX idx_problem_type ON patterns (team_id, problem_type);
CREATE INDEX idx_success_count ON patterns (team_id, success_count DESC, updated_at DESC, id);
-- Sync mode pages on (updated_at, id) within a team.
CREATE INDEX idx_patterns_sync ON patterns (team_id, updated_at, id);
CREATE INDEX idx_patterns_text ON patterns USING gin (search_tsv);
CREATE INDEX idx_patterns_embedding ON patterns USING hnsw (embedding vector_cosine_ops);

-- Everyone who uploaded a pattern (the same solution_hash), first first.
CREATE TABLE pattern_contributors (
    pattern_id      UUID NOT NULL REFERENCES patterns(id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_name       VARCHAR(255) NOT NULL,
    uploads         INTEGER NOT NULL DEFAULT 1,
    first_at        TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (pattern_id, user_id)
);

CREATE TABLE pattern_feedback (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pattern_id  UUID NOT NULL REFERENCES patterns(id) ON DELETE CASCADE,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    helpful     BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (pattern_id, user_id)
);

CREATE TABLE adapter_versions (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id       UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    version_name  VARCHAR(100) NOT NULL,
    adapter_path  VARCHAR(500) NOT NULL,
    created_by    VARCHAR(255) NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_active     BOOLEAN NOT NULL DEFAULT FALSE,
    kind          VARCHAR(10) NOT NULL,
    parents       UUID[] NOT NULL DEFAULT '{{}}',
    method        VARCHAR(10),
    weights       DOUBLE PRECISION[],
    UNIQUE (team_id, version_name)
);
CREATE UNIQUE INDEX one_active_adapter ON adapter_versions (team_id) WHERE is_active;
"""

# The unfiltered `total` of GET /patterns: counting a team's rows on every request is an
# index-only scan of all of them, most of the request at 100k (docs/benchmarks.md, Team server).
# Statement-level triggers with transition tables keep a per-team count, cheap for COPY and
# bulk uploads too; writers of one team already serialise on its advisory lock.
_TEAM_COUNTS = """
CREATE TABLE team_pattern_counts (
    team_id  UUID PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    n        BIGINT NOT NULL DEFAULT 0
);
INSERT INTO team_pattern_counts (team_id, n)
    SELECT team_id, count(*) FROM patterns GROUP BY team_id;
CREATE FUNCTION team_patterns_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO team_pattern_counts AS c (team_id, n)
        SELECT team_id, count(*) FROM new_rows GROUP BY team_id
        ON CONFLICT (team_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION team_patterns_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE team_pattern_counts c SET n = c.n - d.k
        FROM (SELECT team_id, count(*) AS k FROM old_rows GROUP BY team_id) d
        WHERE c.team_id = d.team_id;
    RETURN NULL;
END $$;
CREATE TRIGGER patterns_counted_on_insert AFTER INSERT ON patterns
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION team_patterns_inserted();
CREATE TRIGGER patterns_counted_on_delete AFTER DELETE ON patterns
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION team_patterns_deleted();
"""

# What an app process caches (team/caches.py) must be dropped, in every process, when the
# database changes under it: these triggers NOTIFY on every change, whoever makes it (a
# route, the CLI, an operator's SQL), when the transaction commits; PostgreSQL folds the
# same (channel, payload) sent several times in one transaction into one notification.
AUTH_CHANNEL = "pm_auth"  # keys, users or teams changed: payload ''
PATTERNS_CHANNEL = "pm_patterns"  # a team's patterns changed: payload its team_id

_CHANGE_NOTIFICATIONS = f"""
CREATE FUNCTION notify_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{AUTH_CHANNEL}', '');
    RETURN NULL;
END $$;
CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER teams_notify AFTER UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();

CREATE FUNCTION notify_patterns_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{PATTERNS_CHANNEL}', COALESCE(NEW.team_id, OLD.team_id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER patterns_notify AFTER INSERT OR UPDATE OR DELETE ON patterns
    FOR EACH ROW EXECUTE FUNCTION notify_patterns_changed();

-- A pattern's contributors are part of its answer.
CREATE FUNCTION notify_contributors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    team UUID;
BEGIN
    SELECT p.team_id INTO team FROM patterns p
        WHERE p.id = COALESCE(NEW.pattern_id, OLD.pattern_id);
    IF team IS NOT NULL THEN
        PERFORM pg_notify('{PATTERNS_CHANNEL}', team::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER pattern_contributors_notify AFTER INSERT OR UPDATE OR DELETE
    ON pattern_contributors FOR EACH ROW EXECUTE FUNCTION notify_contributors_changed();
"""

# Tombstones for sync: a deleted pattern leaves (team, id, when) behind, so that sync pages
# report it and clients that pulled it drop their copy. A statement-level trigger records
# every delete, whoever makes it (the route, an operator's SQL, a cascade). deleted_at is
# taken inside the deleting transaction, after the team's advisory lock (store.py), as
# updated_at is: the sync cursor on (time, id) then covers deletions as it covers changes.
# No foreign key to teams: a team deleted with its patterns leaves no dangling reference
# problem (its tombstones are unreachable: no key of that team exists any more).
_PATTERN_DELETIONS = """
CREATE TABLE pattern_deletions (
    team_id     UUID NOT NULL,
    pattern_id  UUID NOT NULL,
    deleted_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, pattern_id)
);
CREATE INDEX idx_pattern_deletions_sync ON pattern_deletions (team_id, deleted_at, pattern_id);
CREATE FUNCTION patterns_tombstoned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pattern_deletions (team_id, pattern_id, deleted_at)
        SELECT team_id, id, clock_timestamp() FROM old_rows
        ON CONFLICT (team_id, pattern_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at;
    RETURN NULL;
END $$;
CREATE TRIGGER patterns_tombstoned_on_delete AFTER DELETE ON patterns
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION patterns_tombstoned();
"""

# The commit a mined fix came from, as its uploader's miner read it: a teammate's copy then
# names the fix's commit and date rather than the upload's.
_PATTERN_COMMITS = """
ALTER TABLE patterns ADD COLUMN commit_sha TEXT NOT NULL DEFAULT '';
ALTER TABLE patterns ADD COLUMN committed_at TIMESTAMPTZ;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _INITIAL),
    Migration("0002_team_pattern_counts", _TEAM_COUNTS),
    Migration("0003_change_notifications", _CHANGE_NOTIFICATIONS),
    Migration("0004_pattern_deletions", _PATTERN_DELETIONS),
    Migration("0005_pattern_commits", _PATTERN_COMMITS),
)


async def migrate(conn: Connection) -> list[str]:
    """Apply the migrations this database lacks; returns the names applied."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        rows = await fetch_all(conn, "SELECT name FROM schema_migrations")
        done = {str(row["name"]) for row in rows}
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,)
            )
            applied.append(migration.name)
    return applied
