"""Running git: a clean environment, one-shot commands, and one long-lived
`git cat-file --batch` process that reads blobs by id."""

from __future__ import annotations

import os
import subprocess
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..errors import RepositoryError

# Variables that would point git at another repository than the one asked for (a hook or a
# shell can leave them set).
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat"})
    return env


def git_command(repo_path: Path, *args: str) -> list[str]:
    return ["git", "-C", str(repo_path), *args]


def run_git(repo_path: Path, args: Sequence[str], *, check: bool = True) -> tuple[int, str]:
    """Run one short git command; returns (exit code, stdout). With `check`, a failure is a
    RepositoryError carrying git's own last line of explanation."""
    try:
        done = subprocess.run(
            git_command(repo_path, *args),
            capture_output=True,
            env=git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise RepositoryError("git is not installed (or not on PATH)") from None
    if check and done.returncode != 0:
        raise RepositoryError(f"{repo_path}: {last_line(done.stderr)}")
    return done.returncode, done.stdout.decode("utf-8", "replace").strip()


def last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return "git failed"
    return lines[-1].removeprefix("fatal: ").removeprefix("error: ")


class BlobReader:
    """Reads blobs by object id through a single `git cat-file --batch` process, started on
    first use and kept for the whole mining run. Requests are pipelined (many ids written,
    then all answers read) and recent blobs are cached: the file a commit leaves behind is
    often the one the next commit to that file starts from."""

    # Ids per write-then-read round: well under what a pipe buffers, so that git never
    # blocks writing answers while we are still writing questions.
    BATCH = 256

    def __init__(self, repo_path: Path, cache_bytes: int = 8 << 20) -> None:
        self._repo_path = repo_path
        self._process: subprocess.Popen[bytes] | None = None
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0

    def _streams(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._process is None:
            self._process = subprocess.Popen(
                git_command(self._repo_path, "cat-file", "--batch"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=git_env(),
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def read(self, object_id: str) -> bytes | None:
        """The blob's bytes, or None if git does not have it."""
        return self.read_many([object_id])[object_id]

    def read_many(self, object_ids: Sequence[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        missing: list[str] = []
        for object_id in dict.fromkeys(object_ids):
            if object_id in self._cache:
                self._cache.move_to_end(object_id)
                found[object_id] = self._cache[object_id]
            else:
                missing.append(object_id)
        for offset in range(0, len(missing), self.BATCH):
            batch = missing[offset : offset + self.BATCH]
            for object_id, data in zip(batch, self._fetch(batch), strict=True):
                found[object_id] = data
                self._remember(object_id, data)
        return found

    def _fetch(self, object_ids: Sequence[str]) -> list[bytes | None]:
        stdin, stdout = self._streams()
        stdin.write(b"".join(object_id.encode("ascii") + b"\n" for object_id in object_ids))
        stdin.flush()
        answers: list[bytes | None] = []
        for _ in object_ids:
            parts = stdout.readline().split()
            if len(parts) != 3:  # "<id> missing"
                answers.append(None)
                continue
            size = int(parts[2])
            data = stdout.read(size + 1)[:size]  # the content and its trailing newline
            answers.append(data if parts[1] == b"blob" else None)
        return answers

    def _remember(self, object_id: str, data: bytes | None) -> None:
        size = len(data) if data else 0
        if size > self._cache_bytes // 4:
            return
        self._cache[object_id] = data
        self._cached += size
        while self._cached > self._cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached -= len(evicted) if evicted else 0

    def close(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
