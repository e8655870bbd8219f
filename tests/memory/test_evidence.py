"""Relevance in time (issue 9 item 5) and reverted fixes, on real git histories: a pattern
ages by its latest evidence on its repository's clock, a repeated change is new evidence,
and the patterns of a reverted commit are neither injected nor offered to the editor."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pattern_memory.assist.inject import build_injection_block
from pattern_memory.cli import main
from pattern_memory.indexing import index_repository
from pattern_memory.memory.db import Database
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.migrations import MIGRATIONS
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.stats import LifecycleCounts
from pattern_memory.memory.types import Outcome
from pattern_memory.mining.gitlog import reverted_commits, reverted_subject
from pattern_memory.settings import Settings
from tests.gitrepo import RepoBuilder
from tests.memory.memory_samples import Clock

CONFIG_V1 = (
    "import yaml\n\n\n"
    "def load_config(path):\n"
    "    with open(path) as handle:\n"
    "        return yaml.safe_load(handle)\n"
)
CONFIG_V2 = (
    "import os\n\nimport yaml\n\n\n"
    "def load_config(path):\n"
    "    if not os.path.exists(path):\n"
    "        return {}\n"
    "    with open(path) as handle:\n"
    "        return yaml.safe_load(handle)\n"
)
PAGES_V1 = (
    "def page(items, number, size):\n    return items[number * size:(number + 1) * size + 1]\n"
)
PAGES_V2 = "def page(items, number, size):\n    return items[number * size:(number + 1) * size]\n"
CONFIG_QUERY = (
    "def load_config(path):\n    with open(path) as handle:\n        return yaml.safe_load(handle)"
)
PAGES_QUERY = (
    "def page(items, number, size):\n    return items[number * size:(number + 1) * size + 1]"
)


def _ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.stored.pattern.pattern_id for h in hits]


def _commit_of(memory: PatternMemory, commit: str) -> list[str]:
    return [s.pattern.pattern_id for s in memory.iter_stored() if s.pattern.commit == commit]


def test_a_memory_indexed_once_is_not_emptied_by_time_passing(
    repo_builder: RepoBuilder, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    repo_builder.commit(
        "Add config loader", {"app/config.py": CONFIG_V1}, date="2019-04-01T10:00:00+00:00"
    )
    repo_builder.commit(
        "Fix crash when the config file is missing",
        {"app/config.py": CONFIG_V2},
        date="2019-05-01T10:00:00+00:00",
    )
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    with PatternMemory.open(settings, embedder, clock=clock) as memory:
        index_repository(memory, repo_builder.path)
        [found] = memory.search_code(CONFIG_QUERY)
        stored = found.stored
        # A 2019 fix indexed in 2025 is fresh: it is the newest its repository has.
        assert (stored.evidence_count, stored.last_evidence) == (1, "2019-05-01 10:00:00")
        assert stored.evidence_age_days == 0.0 and not stored.stale
        clock.advance(3 * 365)  # an idle repository: years pass, nothing is learned
        assert _ids(memory.search_code(CONFIG_QUERY)) == [stored.pattern.pattern_id]
        assert memory.search("crash when the config file is missing")
        assert memory.lifecycle_counts().decayed == 0
        assert "<learned-patterns" in build_injection_block(memory, "config file is missing")


def test_decay_counts_on_the_repositorys_clock_and_a_use_refreshes(
    repo_builder: RepoBuilder, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    repo_builder.commit("Add modules", {"app/config.py": CONFIG_V1, "app/pages.py": PAGES_V1})
    old_fix = repo_builder.commit(
        "Fix crash when the config file is missing",
        {"app/config.py": CONFIG_V2},
        date="2024-01-10T10:00:00+00:00",
    )
    clock = Clock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    never = dataclasses.replace(settings, decay_after_days=0)
    with (
        PatternMemory.open(settings, embedder, clock=clock) as memory,
        PatternMemory.open(never, embedder, clock=clock) as keep,
    ):
        index_repository(memory, repo_builder.path)
        [old] = _commit_of(memory, old_fix)
        # 100 days later in the repository's history, another fix: the old one is stale.
        repo_builder.commit(
            "Fix off-by-one in pagination",
            {"app/pages.py": PAGES_V2},
            date="2024-04-19T10:00:00+00:00",
        )
        index_repository(memory, repo_builder.path)
        assert memory.search_code(CONFIG_QUERY) == []
        assert memory.search("crash when the config file is missing") == []
        assert build_injection_block(memory, "crash when the config file is missing") == ""
        assert len(memory.search_code(PAGES_QUERY)) == 1
        assert memory.lifecycle_counts().decayed == 3  # with "Add modules"' two
        # Still searchable, flagged; decayAfterDays 0 never decays.
        [flagged] = memory.search("crash when the config file is missing", include_stale=True)
        assert flagged.stored.pattern.pattern_id == old and flagged.stored.stale
        assert flagged.stored.evidence_age_days == pytest.approx(100.0)
        stored = memory.get(old)
        assert stored is not None and stored.stale
        assert _ids(keep.search_code(CONFIG_QUERY)) == [old]
        # A successful use is evidence: fresh again.
        refreshed = memory.record_outcome(old, Outcome.HELPFUL)
        assert refreshed.last_evidence == "2025-01-01 00:00:00" and not refreshed.stale
        assert _ids(memory.search_code(CONFIG_QUERY)) == [old]
        assert _ids(memory.search("crash when the config file is missing")) == [old]


def test_a_later_commit_repeating_a_change_is_new_evidence(
    repo_builder: RepoBuilder, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    repo_builder.commit("Add config loader", {"app/config.py": CONFIG_V1})
    first = repo_builder.commit(
        "Fix crash when the config file is missing",
        {"app/config.py": CONFIG_V2},
        date="2024-01-10T10:00:00+00:00",
    )
    repo_builder.commit(
        "Restore the old loader", {"app/config.py": CONFIG_V1}, date="2024-02-01T10:00:00+00:00"
    )
    with PatternMemory.open(settings, embedder) as memory:
        index_repository(memory, repo_builder.path)
        [pattern_id] = _commit_of(memory, first)
        # Months later the same change is made again (the loader was put back in between).
        repo_builder.commit(
            "Fix crash when the config file is missing, again",
            {"app/config.py": CONFIG_V2},
            date="2024-09-01T10:00:00+00:00",
        )
        report = index_repository(memory, repo_builder.path)
        assert (report.patterns_added, report.duplicates) == (0, 1)  # still "already known"
        stored = memory.get(pattern_id)
        assert stored is not None
        assert (stored.evidence_count, stored.last_evidence) == (2, "2024-09-01 10:00:00")
        assert stored.pattern.date == "2024-01-10 10:00:00" and not stored.stale
        # Mining the same commit again (a rewritten history, another clone) counts nothing.
        again = dataclasses.replace(stored.pattern, pattern_id="another-id-000000")
        assert memory.add_patterns([again]) == [pattern_id]
        unchanged = memory.get(pattern_id)
        assert unchanged is not None and unchanged.evidence_count == 2
        # Another commit (the same change twice in it counts once).
        latest = dataclasses.replace(
            stored.pattern, pattern_id="another-id-000001", commit="f" * 40
        )
        memory.add_patterns([latest, latest])
        after = memory.get(pattern_id)
        assert after is not None and after.evidence_count == 3


def test_a_reverted_fix_is_not_offered_but_searchable_with_its_flag(
    repo_builder: RepoBuilder,
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo_builder.commit("Add modules", {"app/config.py": CONFIG_V1, "app/pages.py": PAGES_V1})
    fix = repo_builder.commit(
        "Fix crash when the config file is missing", {"app/config.py": CONFIG_V2}
    )
    repo_builder.commit("Fix off-by-one in pagination", {"app/pages.py": PAGES_V2})
    with PatternMemory.open(settings, embedder) as memory:
        index_repository(memory, repo_builder.path)
        [reverted] = _commit_of(memory, fix)
        assert _ids(memory.search_code(CONFIG_QUERY)) == [reverted]
        # The revert comes in a later (incremental) run than the fix's patterns.
        repo_builder.repo.git.revert(fix, no_edit=True)
        revert = repo_builder.repo.head.commit.hexsha
        report = index_repository(memory, repo_builder.path)
        assert report.reverts == 1
        assert memory.search_code(CONFIG_QUERY) == []
        assert memory.search("crash when the config file is missing") == []
        assert build_injection_block(memory, "crash when the config file is missing") == ""
        assert len(memory.search_code(PAGES_QUERY)) == 1  # the other fix is untouched
        [hit] = memory.search("crash when the config file is missing", include_reverted=True)
        assert hit.stored.reverted_by == revert and hit.stored.reverted
        assert memory.lifecycle_counts().reverted == 1
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["search", "crash when the config file is missing"]) == 0
    assert f"[reverted by {revert[:12]}]" in capsys.readouterr().out

    # A revert of the revert puts the fix back in effect.
    repo_builder.repo.git.revert(revert, no_edit=True)
    with PatternMemory.open(settings, embedder) as memory:
        index_repository(memory, repo_builder.path)
        assert _ids(memory.search_code(CONFIG_QUERY)) == [reverted]
        stored = memory.get(reverted)
        assert stored is not None and stored.reverted_by is None


def test_a_revert_in_the_same_run_and_by_subject_only(
    repo_builder: RepoBuilder, memory: PatternMemory
) -> None:
    repo_builder.commit("Add modules", {"app/config.py": CONFIG_V1, "app/pages.py": PAGES_V1})
    config_fix = repo_builder.commit(
        "Fix crash when the config file is missing", {"app/config.py": CONFIG_V2}
    )
    pages_fix = repo_builder.commit("Fix off-by-one in pagination", {"app/pages.py": PAGES_V2})
    repo_builder.repo.git.revert(config_fix, no_edit=True)
    # A hand-written revert without the sha: matched by its subject.
    repo_builder.commit('Revert "Fix off-by-one in pagination" (#12)', {"app/pages.py": PAGES_V1})
    report = index_repository(memory, repo_builder.path)
    assert report.reverts == 2
    assert memory.search_code(CONFIG_QUERY) == []
    assert memory.search_code(PAGES_QUERY) == []
    assert {s.pattern.commit for s in memory.iter_stored() if s.reverted} == {
        config_fix,
        pages_fix,
    }


def test_revert_messages_are_parsed() -> None:
    sha = "a" * 40
    assert reverted_commits(f'Revert "x"\n\nThis reverts commit {sha}.\n') == (sha,)
    assert reverted_commits("* This reverts commit ABCDEF1.\n* This reverts commit abcdef1.") == (
        "abcdef1",
    )
    assert reverted_commits("Fix the revert logic") == ()
    assert reverted_subject('Revert "Raise TypeError on bad params (#2523)" (#2539)') == (
        "Raise TypeError on bad params (#2523)"
    )
    assert reverted_subject("Fix crash") is None


def test_migration_gives_old_rows_their_date_as_evidence(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    database = Database(settings.db_path)
    c = database.connection()
    c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    old = MIGRATIONS[: [m.name for m in MIGRATIONS].index("0009_evidence_and_reverts")]
    for migration in old:
        migration.apply(c)
        c.execute(
            "INSERT INTO schema_migrations VALUES (?, '2025-01-01 00:00:00')", (migration.name,)
        )
    columns = (
        "pattern_id, user_id, source, problem_type, before_code, after_code, commit_msg, "
        "author, date, confidence, commit_sha, repository, file_path, language, "
        "solution_hash, lookup_text, lookup_hash, created_at, uses, success_count, last_used"
    )
    rows = [
        ("p-old", "2023-01-01 00:00:00", "h1", 0, 0, None),
        ("p-new", "2024-01-01 00:00:00", "h2", 0, 0, None),
        ("p-used", "2023-02-01 00:00:00", "h3", 1, 1, "2023-12-01 00:00:00"),
    ]
    for pattern_id, date, solution, uses, successes, last_used in rows:
        c.execute(
            f"INSERT INTO patterns ({columns}) VALUES (?, 'local', 'git', 'bug_fix', 'a', 'b', "
            "'m', 'x', ?, 0.9, 'c', '/repo', 'f.py', 'python', ?, 'm', 'lh', "
            "'2025-01-01 00:00:00', ?, ?, ?)",
            (pattern_id, date, solution, uses, successes, last_used),
        )
    database.close()
    with PatternMemory.open(settings, embedder) as memory:
        got = {
            s.pattern.pattern_id: (s.evidence_count, s.last_evidence, s.stale)
            for s in memory.iter_stored()
        }
        assert got == {
            "p-old": (1, "2023-01-01 00:00:00", True),  # a year behind the repository
            "p-new": (1, "2024-01-01 00:00:00", False),
            "p-used": (1, "2023-12-01 00:00:00", False),  # its successful use
        }
        assert memory.lifecycle_counts() == LifecycleCounts(
            active=2, decayed=1, retired=0, reverted=0
        )
