"""Identity, dedupe, cursors, lookups and stats are per owner (user_id): another user's
import stores their own copies; nobody sees, rates or deletes another user's patterns; team
patterns are readable (and rateable) only with includeTeam and never deleted by a user."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import apsw
import pytest

from pattern_memory.errors import InputError
from pattern_memory.memory.db import Database
from pattern_memory.memory.embedder import Embedder
from pattern_memory.memory.migrations import MIGRATIONS
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.patterns import PatternSource
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.memory.memory_samples import FIXES


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """Scope is about rows, not vectors: no need to load the model."""
    return HashEmbedder()


@pytest.fixture
def bob(settings: Settings, embedder: Embedder) -> Iterator[PatternMemory]:
    opened = PatternMemory.open(dataclasses.replace(settings, user_id="bob"), embedder)
    yield opened
    opened.close()


def test_another_users_import_of_the_same_patterns_stores_their_own(
    memory: PatternMemory, bob: PatternMemory
) -> None:
    assert memory.import_patterns(FIXES[:3]).added == 3
    report = bob.import_patterns(FIXES[:3])
    assert (report.added, report.known, report.conflicts) == (3, 0, [])
    assert bob.get(FIXES[0].pattern_id) is not None
    assert bob.stats().patterns == 3


def test_an_id_the_user_has_for_another_change_is_a_conflict(memory: PatternMemory) -> None:
    memory.import_patterns([FIXES[0]])
    changed = dataclasses.replace(FIXES[1], pattern_id=FIXES[0].pattern_id)
    report = memory.import_patterns([changed, FIXES[2]])
    assert (report.added, report.known, report.conflicts) == (1, 0, [FIXES[0].pattern_id])
    stored = memory.get(FIXES[0].pattern_id)
    assert stored is not None and stored.pattern == FIXES[0]  # kept as it was


def test_nobody_sees_rates_or_forgets_another_users_pattern(
    memory: PatternMemory, bob: PatternMemory
) -> None:
    [own] = memory.add_patterns([FIXES[0]])
    memory.record_outcome(own, Outcome.HELPFUL)
    memory.store.save_batch(
        items=[],
        user_id="local",
        created_at="2025-01-01 00:00:00",
        repository="/repo",
        last_commit="a" * 40,
        commits_read=1,
    )
    assert bob.get(own) is None
    with pytest.raises(InputError):
        bob.record_outcome(own, Outcome.NOT_HELPFUL)
    assert not bob.forget(own)
    assert bob.store.cursors.last_commit("bob", "/repo") is None
    stats = bob.stats()
    assert (stats.patterns, stats.feedback, stats.repositories) == (0, 0, {})
    assert memory.stats().feedback == 1
    assert memory.stats().repositories == {"/repo": "a" * 40}
    assert memory.get(own) is not None and memory.get(own).lifecycle.uses == 1  # type: ignore[union-attr]


def test_team_patterns_are_read_and_rated_with_include_team_never_forgotten(
    memory: PatternMemory, settings: Settings, embedder: Embedder
) -> None:
    [team] = memory.add_patterns([dataclasses.replace(FIXES[3], source=PatternSource.TEAM)])
    with PatternMemory.open(dataclasses.replace(settings, user_id="bob"), embedder) as alone:
        assert alone.get(team) is None
    opted_in = dataclasses.replace(settings, user_id="bob", include_team=True)
    with PatternMemory.open(opted_in, embedder) as bob:
        assert bob.get(team) is not None
        assert bob.record_outcome(team, Outcome.HELPFUL).lifecycle.uses == 1
        assert not bob.forget(team)
        assert bob.get(team) is not None


def test_migration_keeps_feedback_and_gives_cursors_to_their_users(
    settings: Settings, embedder: Embedder
) -> None:
    database = Database(settings.db_path)
    c = database.connection()
    c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    old = MIGRATIONS[: [m.name for m in MIGRATIONS].index("0006_owner_scoped_identity")]
    for migration in old:
        migration.apply(c)
        c.execute(
            "INSERT INTO schema_migrations VALUES (?, '2025-01-01 00:00:00')", (migration.name,)
        )
    c.execute(
        "INSERT INTO patterns (pattern_id, user_id, source, problem_type, before_code, "
        "after_code, commit_msg, author, date, confidence, commit_sha, repository, file_path, "
        "language, solution_hash, lookup_text, lookup_hash, created_at, uses, success_count) "
        "VALUES ('p1', 'carol', 'git', 'bug_fix', 'a', 'b', 'm', 'x', '2024-01-01 00:00:00', "
        "0.9, 'c', '/repo', 'f.py', 'python', 'h', 'm', 'lh', '2025-01-01 00:00:00', 1, 1)"
    )
    c.execute(
        "INSERT INTO feedback (pattern_id, outcome, recorded_at) VALUES ('p1', 'helpful', 't')"
    )
    c.execute("INSERT INTO mined_cursor VALUES ('/repo', 'abc', 3, 't')")
    database.close()
    carol = dataclasses.replace(settings, user_id="carol")
    with PatternMemory.open(carol, embedder) as memory:
        assert memory.store.feedback.history("p1", memory._scope()) == [("helpful", "t")]
        assert memory.store.cursors.last_commit("carol", "/repo") == "abc"
        assert memory.stats().feedback == 1
        memory.forget("p1")
        assert memory.store.db.query("SELECT count(*) FROM feedback")[0][0] == 0  # cascade
    with pytest.raises(apsw.Error):  # the owner-scoped uniqueness holds
        raw = apsw.Connection(str(settings.db_path))
        raw.execute("INSERT INTO mined_cursor VALUES ('carol', '/r', 'x', 1, 't')")
        raw.execute("INSERT INTO mined_cursor VALUES ('carol', '/r', 'y', 1, 't')")


def test_a_memory_for_another_user_shares_the_vectors_but_not_the_patterns(
    memory: PatternMemory,
) -> None:
    """The proxy serves every user from one store: each user's memory reads the same
    vector index (no copy of the vectors per user) and still finds only its own patterns."""
    memory.import_patterns(FIXES[:2])
    bob = memory.for_user("bob")
    bob.import_patterns(FIXES[2:4])
    query = FIXES[2].commit_msg
    assert {hit.stored.pattern.pattern_id for hit in bob.search(query, k=10)} <= {
        p.pattern_id for p in FIXES[2:4]
    }
    assert FIXES[2].pattern_id in {hit.stored.pattern.pattern_id for hit in bob.search(query, k=10)}
    assert FIXES[2].pattern_id not in {
        hit.stored.pattern.pattern_id for hit in memory.search(query, k=10)
    }
    assert bob.settings.user_id == "bob" and memory.settings.user_id == "local"
    assert bob._index is memory._index  # one matrix for both
