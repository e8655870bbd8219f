"""Running git: a clean environment, one-shot commands, and one long-lived
`git cat-file --batch` process that reads blobs by id."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..errors import RepositoryError

# Variables that would point git at another repository than the one asked for (a hook or a
# shell can leave them set).
# Bytes of delta bases each git process may cache (git's default is 96 MiB).
DELTA_BASE_CACHE = "16m"
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat"})
    return env


def git_command(repo_path: Path, *args: str) -> list[str]:
    return ["git", "-C", str(repo_path), *args]


def run_git(repo_path: Path, args: Sequence[str], *, check: bool = True) -> tuple[int, str]:
    """Run one short git command; returns (exit code, stdout). With `check`, a failure is a
    RepositoryError carrying git's own last line of explanation (e.g. "not a git repository",
    "detected dubious ownership in repository")."""
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
    """git's explanation in one line: its last `fatal:` or `error:` line (hints follow it),
    else its last line."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "git failed"
    errors = [line for line in lines if line.startswith(("fatal: ", "error: "))]
    line = errors[-1] if errors else lines[-1]
    return line.removeprefix("fatal: ").removeprefix("error: ")


class BlobStream:
    """Blobs by object id from a single `git cat-file --batch` process, started on first use
    and kept for the whole mining run.

    Reads are pipelined: `ask` for blobs ahead of time, then `take` them in the same order.
    Git works on the next answers while we process the current one, and a whole window of
    commits costs one round trip instead of one per file."""

    # Requests written but not yet answered: well under what a pipe buffers (64 KiB), so that
    # writing never blocks while git waits for us to read its answers.
    MAX_IN_FLIGHT = 512
    # A larger file is not read at all (`take` gives None, as for a missing blob): data or
    # generated code, and the widening of its hunks would cost memory for nothing.
    MAX_BLOB_BYTES = 4 << 20

    def __init__(self, repo_path: Path) -> None:
        self._repo_path = repo_path
        self._process: subprocess.Popen[bytes] | None = None
        self._unsent: deque[str] = deque()
        self._in_flight: deque[str] = deque()

    @property
    def pending(self) -> int:
        """Blobs asked for and not taken yet."""
        return len(self._unsent) + len(self._in_flight)

    def _streams(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._process is None:
            self._process = subprocess.Popen(
                git_command(
                    self._repo_path,
                    "-c",
                    f"core.deltaBaseCacheLimit={DELTA_BASE_CACHE}",
                    "cat-file",
                    "--batch",
                ),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=git_env(),
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def ask(self, object_ids: Sequence[str]) -> None:
        """Queue requests; `take` must then be called once per id, in the same order."""
        self._unsent.extend(object_ids)
        self._send()

    def _send(self) -> None:
        room = self.MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0 or not self._unsent:
            return
        batch = [self._unsent.popleft() for _ in range(min(room, len(self._unsent)))]
        self._in_flight.extend(batch)
        stdin, _ = self._streams()
        stdin.write(b"".join(object_id.encode("ascii") + b"\n" for object_id in batch))
        stdin.flush()

    def take(self, object_id: str) -> bytes | None:
        """The next blob asked for (which must be `object_id`); None if git does not have it."""
        if not self._in_flight:
            self._send()
        expected = self._in_flight.popleft()
        if expected != object_id:
            raise RuntimeError(f"blob {object_id} taken out of order (expected {expected})")
        _, stdout = self._streams()
        parts = stdout.readline().split()
        if len(self._in_flight) < self.MAX_IN_FLIGHT // 2:
            self._send()
        if len(parts) != 3:  # "<id> missing"
            return None
        size = int(parts[2])
        if size > self.MAX_BLOB_BYTES:
            _discard(stdout, size + 1)  # read past it without holding it
            return None
        data = stdout.read(size + 1)[:size]  # the content and its trailing newline
        return data if parts[1] == b"blob" else None

    def close(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        self._unsent.clear()
        self._in_flight.clear()
        # Closing both pipes ends git even when it still has answers nobody will read (the
        # caller stopped early): its next write fails and it exits.
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _discard(stream: IO[bytes], count: int, chunk_size: int = 1 << 20) -> None:
    while count > 0:
        skipped = len(stream.read(min(count, chunk_size)))
        if not skipped:
            return
        count -= skipped
