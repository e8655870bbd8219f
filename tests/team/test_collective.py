"""The seed's v1.1 opt-in `collective`: what sync pushes carries no author, commit or
repository (marked collective), and a repository's file may turn it on, never off."""

from __future__ import annotations

from pathlib import Path

import pytest

from pattern_memory.assist.privacy import COLLECTIVE_AUTHOR
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings, load_settings
from pattern_memory.team.sync import shareable

PATTERN = Pattern(
    pattern_id=make_pattern_id("collective"),
    problem_type=ProblemType.BUG_FIX,
    before_code="row = db.get(uid)\nreturn row['name']",
    after_code="row = db.get(uid)\nif row is None:\n    return None\nreturn row['name']",
    commit_msg="fix: crash when the user does not exist (reported by alice@corp.example)",
    author="alice@corp.example",
    date="2024-05-01 10:00:00",
    confidence=0.8,
    commit="0123456789abcdef0123456789abcdef01234567",
    file_path="/home/alice/src/secret-project/app/users.py",
    language="python",
    repository="/home/alice/src/secret-project",
)


def test_collective_sharing_drops_who_and_where() -> None:
    team = shareable(PATTERN, anonymize_authors=False)
    assert team.author == "alice@corp.example" and team.repository == "secret-project"
    shared = shareable(PATTERN, anonymize_authors=False, collective=True)
    assert shared.author == COLLECTIVE_AUTHOR
    assert (shared.commit, shared.repository) == ("", "")
    assert shared.file_path == "app/users.py"
    assert "alice" not in shared.model_dump_json()  # the message's address too
    assert shared.code_after == PATTERN.after_code


def test_the_setting_defaults_off_and_a_repository_cannot_turn_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().collective is False
    user = tmp_path / "user.yaml"
    user.write_text("patterns:\n  collective: true\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".pattern-memory.yaml").write_text("patterns:\n  collective: false\n")
    monkeypatch.setenv("PATTERN_MEMORY_CONFIG", str(user))
    assert load_settings(repo, environ={}).collective is True
