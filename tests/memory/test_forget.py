"""`forget` lasts: indexing the same change again (a history rewrite, or the same repository
at another path) or importing it does not bring it back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import write_jsonl_file
from tests.gitrepo import RepoBuilder
from tests.memory.memory_samples import FIXES


def test_reindexing_the_repository_elsewhere_skips_a_forgotten_pattern(
    tmp_path: Path, repo_builder: RepoBuilder, memory: PatternMemory
) -> None:
    repo_builder.commit("Add pager", {"app/pages.py": "def last(n, size):\n    return n // size\n"})
    repo_builder.commit(
        "Fix off-by-one in the last page",
        {"app/pages.py": "def last(n, size):\n    return (n - 1) // size\n"},
    )
    first = index_repository(memory, repo_builder.path)
    assert first.patterns_added >= 1
    for pattern in list(memory.iter_patterns()):
        assert memory.forget(pattern.pattern_id)

    copy = tmp_path / "elsewhere"
    shutil.copytree(repo_builder.path, copy)
    again = index_repository(memory, copy)
    assert (again.patterns_added, again.forgotten) == (0, first.patterns_added)
    assert list(memory.iter_patterns()) == []


def test_importing_a_forgotten_pattern_skips_it(
    tmp_path: Path,
    memory: PatternMemory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = memory.add_patterns(FIXES[:2])
    exported = tmp_path / "out.jsonl"
    write_jsonl_file(FIXES[:2], exported)
    assert memory.forget(ids[0])
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(memory.store.db.path))
    assert main(["import", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "Imported 0 new pattern(s)" in out and "1 forgotten earlier, skipped" in out
    assert memory.get(ids[0]) is None
    # An explicit add (a forged fix the user accepts again) is the user's choice: stored.
    assert memory.add_patterns([FIXES[0]]) == [ids[0]]
    assert memory.get(ids[0]) is not None
