"""Build real git repositories in a temp dir for tests, with full control of each commit's
message, author and date (GitPython drives a real git)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import git


@dataclass
class RepoBuilder:
    path: Path
    repo: git.Repo = field(init=False)
    _tick: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.repo = git.Repo.init(self.path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Test Author")
            config.set_value("user", "email", "author@example.com")
            config.set_value("commit", "gpgsign", "false")

    def write(self, relpath: str, content: str | bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes | None] | None = None,
        *,
        author: str = "Test Author <author@example.com>",
        date: str | None = None,
    ) -> str:
        """Write (or, with None, delete) files, stage everything, commit; returns the hash.
        Dates default to one hour apart from 2024-01-01, so that order is deterministic."""
        for relpath, content in (files or {}).items():
            if content is None:
                (self.path / relpath).unlink()
            else:
                self.write(relpath, content)
        self.repo.git.add(A=True)
        self._tick += 1
        when = date or f"2024-01-01T{self._tick % 24:02d}:00:00+00:00"
        if date is None and self._tick >= 24:
            day = 1 + self._tick // 24
            when = f"2024-01-{day:02d}T{self._tick % 24:02d}:00:00+00:00"
        name, _, email = author.partition(" <")
        env = {
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email.rstrip(">"),
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email.rstrip(">"),
        }
        self.repo.git.commit("--allow-empty", "-m", message, env=env)
        return self.repo.head.commit.hexsha

    def rename(self, old: str, new: str) -> None:
        self.repo.git.mv(old, new)
