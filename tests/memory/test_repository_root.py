"""`index` of a subdirectory indexes the repository: one cursor per repository root, and
the patterns name the root; a path outside any repository fails before a database exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from tests.gitrepo import RepoBuilder


def test_a_subdirectory_indexes_its_repository_once(
    repo_builder: RepoBuilder, memory: PatternMemory
) -> None:
    repo_builder.commit("Add pager", {"app/pages.py": "def last(n, size):\n    return n // size\n"})
    repo_builder.commit(
        "Fix off-by-one in the last page",
        {"app/pages.py": "def last(n, size):\n    return (n - 1) // size\n"},
    )
    root = str(repo_builder.path.resolve())
    first = index_repository(memory, repo_builder.path / "app")
    assert first.repository == root and first.patterns_added >= 1
    assert {p.repository for p in memory.iter_patterns()} == {root}
    assert index_repository(memory, repo_builder.path).up_to_date
    assert memory.stats().repositories == {root: repo_builder.repo.head.commit.hexsha}


def test_index_outside_a_repository_makes_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    db = tmp_path / "data" / "patterns.db"
    assert main(["index", str(plain), "--db", str(db), "--no-progress"]) == 2
    assert "not a git repository" in capsys.readouterr().err
    assert not db.exists()
