from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.mining import MinedCommit, MineOptions, mine_commits
from pattern_memory.patterns import Pattern

Mine = Callable[..., list[MinedCommit]]
MinePatterns = Callable[..., list[Pattern]]


def _mine(repo_path: Path, **options: Any) -> list[MinedCommit]:
    since_commit = options.pop("since_commit", None)
    return list(mine_commits(repo_path, MineOptions(**options), since_commit=since_commit))


@pytest.fixture
def mine() -> Mine:
    """mine(repo_path, **MineOptions fields, since_commit=...) -> every MinedCommit."""
    return _mine


@pytest.fixture
def mined_patterns() -> MinePatterns:
    """mined_patterns(repo_path, **options) -> the patterns of every commit, in order."""

    def patterns(repo_path: Path, **options: Any) -> list[Pattern]:
        return [p for commit in _mine(repo_path, **options) for p in commit.patterns]

    return patterns
