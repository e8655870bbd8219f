"""One streaming `git log -p` process, parsed line by line into commits, changed files and
hunks. Nothing is held beyond the commit being read, and the diff of a commit the caller does
not want is skipped without being parsed."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import RepositoryError
from .gitproc import DELTA_BASE_CACHE, git_command, git_env, last_line

_START = b"\x00\x01"
_END = b"\x00\x02"
# Fields of the header are NUL-separated: no commit message or path can break the parsing.
LOG_FORMAT = "%x00%x01%H%x00%P%x00%aE%x00%at%x00%B%x00%x02"
_NULL_ID = "0" * 40
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_INDEX = re.compile(rb"^index ([0-9a-f]+)\.\.([0-9a-f]+)(?: (\d+))?")
# Modes whose "content" is not code: a submodule's commit id, a symbolic link's target.
_NOT_FILE_MODES = (b"160000", b"120000")
# A hunk with a longer line (marker and line end included) is minified code or data, not a
# pattern anyone would apply: it is dropped while the log is read, its line never kept whole.
MAX_LINE_BYTES = 1000

# Everything a user's configuration could change in the diff is pinned, so that hunks (and
# with them pattern ids) are the same on every machine.
_CONFIG = (
    "-c", "core.quotePath=true",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false",
    "-c", "log.showSignature=false",
    "-c", "diff.suppressBlankEmpty=false",
    "-c", "diff.renameLimit=1000",
    "-c", "i18n.logOutputEncoding=UTF-8",
    # git's cache of delta bases defaults to 96 MiB and fills up on a long history; a small
    # one keeps the reader's memory bounded at no measurable cost in speed.
    "-c", f"core.deltaBaseCacheLimit={DELTA_BASE_CACHE}",
)  # fmt: skip
_DIFF_OPTIONS = (
    "-p", "--root", "-M", "--full-index", "-U3", "--inter-hunk-context=0",
    "--diff-algorithm=myers", "--no-color", "--no-ext-diff", "--no-textconv",
    "--src-prefix=a/", "--dst-prefix=b/", "--indent-heuristic",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CommitHeader:
    hexsha: str
    parents: tuple[str, ...]
    author_email: str
    author_time: int  # seconds since the epoch
    message: str

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


# git revert's body line; a squash of several reverts has several, GitHub's list bullets.
_REVERTS_COMMIT = re.compile(r"\bThis reverts commit ([0-9a-fA-F]{7,40})\b")
# git revert's subject, with a pull request's number after it (a squash merge).
_REVERT_SUBJECT = re.compile(r'^Revert "(.+)"(?: \(#\d+\))?\s*$')


def reverted_commits(message: str) -> tuple[str, ...]:
    """The commits a message says it reverts ("This reverts commit <sha>."), lower case,
    in order, without repeats."""
    return tuple(dict.fromkeys(m.lower() for m in _REVERTS_COMMIT.findall(message)))


def reverted_subject(message: str) -> str | None:
    """The subject a `Revert "<subject>"` message names (to match a revert without a sha)."""
    match = _REVERT_SUBJECT.match(message.split("\n", 1)[0].strip())
    return match.group(1) if match else None


@dataclass(slots=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    # Raw diff lines, each with its ' ', '-' or '+' marker; emptied when the hunk has more
    # changed lines than the reader keeps, or a line longer than MAX_LINE_BYTES.
    lines: list[bytes] = field(default_factory=list)
    changed: int = 0  # number of '-' and '+' lines
    oversized: bool = False


@dataclass(slots=True)
class FileChange:
    old_path: str | None = None  # None for an added file
    new_path: str | None = None  # None for a deleted file
    old_blob: str | None = None
    new_blob: str | None = None
    binary: bool = False
    not_a_file: bool = False  # a submodule or a symbolic link
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


@dataclass(slots=True)
class LogCommit:
    header: CommitHeader
    files: list[FileChange]  # empty when the caller did not want the diff


def unquote_path(raw: bytes) -> str:
    """A path as git prints it (C-quoted when unusual, `a/` or `b/` prefixed) -> str."""
    raw = raw.rstrip(b"\n").rstrip(b"\t")
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = _unescape_c(raw[1:-1])
    if raw[:2] in (b"a/", b"b/"):
        raw = raw[2:]
    return raw.decode("utf-8", "replace")


_ESCAPES = {
    ord("n"): b"\n", ord("t"): b"\t", ord('"'): b'"', ord("\\"): b"\\",
    ord("a"): b"\a", ord("b"): b"\b", ord("f"): b"\f", ord("r"): b"\r", ord("v"): b"\v",
}  # fmt: skip


def _unescape_c(body: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char == 0x5C and i + 1 < len(body):  # backslash
            following = body[i + 1]
            if 0x30 <= following <= 0x37 and i + 4 <= len(body):  # \ooo, three octal digits
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(following, bytes([following]))
            i += 2
            continue
        out.append(char)
        i += 1
    return bytes(out)


def log_arguments(rev_range: str) -> list[str]:
    # No `--since`: git filters on the committer date and prunes the walk at the first older
    # commit, while `--since-date` means the author date; the miner filters on that itself.
    args = [*_CONFIG, "log", *_DIFF_OPTIONS, "--topo-order", "--reverse", f"--format={LOG_FORMAT}"]
    return [*args, rev_range, "--"]


def count_commits(repo_path: Path, rev_range: str) -> int:
    """How many commits the log will read (cheap: no diffs)."""
    args = git_command(repo_path, "rev-list", "--count", rev_range)
    done = subprocess.run(args, capture_output=True, env=git_env(), check=False)
    if done.returncode != 0:
        raise RepositoryError(f"{repo_path}: {last_line(done.stderr)}")
    return int(done.stdout.strip() or 0)


def stream_log(
    repo_path: Path,
    rev_range: str,
    *,
    want_diff: Callable[[CommitHeader], bool],
    max_hunk_lines: int,
) -> Generator[LogCommit, None, None]:
    """Commits of `rev_range`, oldest first (parents before children), from one `git log`.

    `want_diff(header)` decides whether that commit's diff is parsed; hunks with more than
    `max_hunk_lines` changed lines keep their numbers but not their lines, so memory stays
    bounded by the largest kept hunk, whatever the length of the history."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            git_command(repo_path, *log_arguments(rev_range)),
            stdout=subprocess.PIPE,
            stderr=errors,
            env=git_env(),
            bufsize=1 << 20,
        )
        assert process.stdout is not None
        try:
            yield from parse_log(LineReader(process.stdout), want_diff, max_hunk_lines)
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        if code != 0:
            errors.seek(0)
            raise RepositoryError(f"{repo_path}: git log failed: {last_line(errors.read())}")


class LineReader:
    """Lines from a byte stream read in large chunks; `skip_to` jumps to the next marker
    without looking at the lines in between (the diff of a skipped commit)."""

    def __init__(self, stream: IO[bytes], chunk_size: int = 1 << 20) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._buffer = b""
        self._position = 0

    def _fill(self) -> bool:
        """Append a chunk to the unread part of the buffer (for `skip_to`, which keeps only a
        few bytes of it: a long line is never copied over and over)."""
        chunk = self._stream.read(self._chunk_size)
        if not chunk:
            return False
        self._buffer = self._buffer[self._position :] + chunk
        self._position = 0
        return True

    def readline(self, limit: int = 0) -> bytes | None:
        """The next line, None at the end. With a `limit`, a longer line is cut to `limit` + 1
        bytes and the rest of it read and dropped, so that one huge line (minified code, data)
        costs no more memory than a chunk."""
        end = self._buffer.find(b"\n", self._position)
        if end >= 0:
            stop = end + 1 if not limit else min(end + 1, self._position + limit + 1)
            line = self._buffer[self._position : stop]
            self._position = end + 1
            return line
        # The line goes on in the next chunks: gather its pieces, joined once at the end.
        parts = [self._buffer[self._position :]]
        kept = len(parts[0])
        self._buffer, self._position = b"", 0
        while True:
            chunk = self._stream.read(self._chunk_size)
            end = chunk.find(b"\n")
            if not limit or kept <= limit:
                piece = chunk if end < 0 else chunk[: end + 1]
                parts.append(piece)
                kept += len(piece)
            if end >= 0:
                self._buffer, self._position = chunk, end + 1
            if end >= 0 or not chunk:
                line = b"".join(parts)
                if limit and len(line) > limit + 1:
                    line = line[: limit + 1]
                return line or None

    def skip_to(self, marker: bytes) -> None:
        """Advance to the next line that starts with `marker` (or to the end)."""
        needle = b"\n" + marker
        while True:
            found = self._buffer.find(needle, max(self._position - 1, 0))
            if found >= 0:
                self._position = found + 1
                return
            keep = len(self._buffer) - len(needle)  # a marker may straddle two chunks
            self._position = max(self._position, keep)
            if not self._fill():
                self._position = len(self._buffer)
                return


def parse_log(
    reader: LineReader,
    want_diff: Callable[[CommitHeader], bool],
    max_hunk_lines: int,
) -> Iterator[LogCommit]:
    pending = reader.readline()
    while pending is not None:
        if not pending.startswith(_START):
            pending = reader.readline()  # nothing but headers can start the stream
            continue
        header_bytes = pending
        while _END not in header_bytes:
            line = reader.readline()
            if line is None:
                return
            header_bytes += line
        header = _parse_header(header_bytes)
        if want_diff(header):
            files, pending = _parse_diff(reader, max_hunk_lines)
        else:
            files = []
            reader.skip_to(_START)
            pending = reader.readline()
        yield LogCommit(header, files)


def _parse_header(raw: bytes) -> CommitHeader:
    body = raw[len(_START) : raw.index(_END)]
    hexsha, parents, email, when, message = body.split(b"\x00", 4)
    message = message.rstrip(b"\x00")
    return CommitHeader(
        hexsha=hexsha.decode("ascii"),
        parents=tuple(parents.decode("ascii").split()),
        author_email=email.decode("utf-8", "replace"),
        author_time=int(when or 0),
        message=message.decode("utf-8", "replace").strip(),
    )


def _parse_diff(reader: LineReader, max_hunk_lines: int) -> tuple[list[FileChange], bytes | None]:
    """Read one commit's diff; returns its files and the line that starts the next commit."""
    files: list[FileChange] = []
    current: FileChange | None = None
    line = reader.readline()
    while line is not None and not line.startswith(_START):
        if line.startswith(b"diff --git "):
            current = FileChange()
            files.append(current)
            _paths_from_diff_line(line, current)
        elif current is None:
            pass
        elif line.startswith(b"@@ "):
            line = _read_hunk(line, reader, current, max_hunk_lines)
            continue
        else:
            _read_file_header_line(line, current)
        line = reader.readline()
    return files, line


def _paths_from_diff_line(line: bytes, change: FileChange) -> None:
    # Only a fallback (binary and mode-only changes have no ---/+++ lines): the two paths are
    # ambiguous when they contain spaces, so the later header lines win.
    rest = line[len(b"diff --git ") :].rstrip(b"\n")
    if rest.startswith(b'"'):
        return
    middle = rest.find(b" b/")
    if middle > 0:
        change.old_path = unquote_path(rest[:middle])
        change.new_path = unquote_path(rest[middle + 1 :])


def _read_file_header_line(line: bytes, change: FileChange) -> None:
    if line.startswith(b"--- "):
        change.old_path = None if line.startswith(b"--- /dev/null") else unquote_path(line[4:])
    elif line.startswith(b"+++ "):
        change.new_path = None if line.startswith(b"+++ /dev/null") else unquote_path(line[4:])
    elif line.startswith(b"index "):
        match = _INDEX.match(line)
        if match:
            old, new, mode = match.groups()
            change.old_blob = None if old.decode() == _NULL_ID else old.decode()
            change.new_blob = None if new.decode() == _NULL_ID else new.decode()
            if mode in _NOT_FILE_MODES:
                change.not_a_file = True
    elif line.startswith(b"rename from "):
        change.old_path = unquote_path(line[len(b"rename from ") :])
    elif line.startswith(b"rename to "):
        change.new_path = unquote_path(line[len(b"rename to ") :])
    elif line.startswith(b"new file mode "):
        change.old_path = None
        change.not_a_file = change.not_a_file or line.rstrip().endswith(_NOT_FILE_MODES)
    elif line.startswith((b"old mode ", b"new mode ")):
        change.not_a_file = change.not_a_file or line.rstrip().endswith(_NOT_FILE_MODES)
    elif line.startswith(b"deleted file mode "):
        change.new_path = None
        change.not_a_file = change.not_a_file or line.rstrip().endswith(_NOT_FILE_MODES)
    elif line.startswith((b"Binary files ", b"GIT binary patch")):
        change.binary = True


def _read_hunk(
    header: bytes, reader: LineReader, change: FileChange, max_hunk_lines: int
) -> bytes | None:
    """Read one hunk (counted by its header, so that a removed line starting with `--- ` is
    never mistaken for a file header); returns the first line after it."""
    match = _HUNK.match(header)
    if match is None:
        return reader.readline()
    old_start, old_count, new_start, new_count = (
        int(value) if value is not None else 1 for value in match.groups()
    )
    hunk = Hunk(old_start, old_count, new_start, new_count)
    change.hunks.append(hunk)
    old_left, new_left = old_count, new_count
    line = reader.readline(MAX_LINE_BYTES)
    while line is not None and (old_left > 0 or new_left > 0 or line.startswith(b"\\")):
        marker = line[:1]
        if marker == b" ":
            old_left -= 1
            new_left -= 1
        elif marker == b"-":
            old_left -= 1
            hunk.changed += 1
        elif marker == b"+":
            new_left -= 1
            hunk.changed += 1
        elif marker == b"\\":  # "\ No newline at end of file"
            line = reader.readline(MAX_LINE_BYTES)
            continue
        else:
            break  # malformed: leave the line to the caller
        if not hunk.oversized:
            if hunk.changed > max_hunk_lines or len(line) > MAX_LINE_BYTES:
                hunk.oversized = True
                hunk.lines = []
            else:
                hunk.lines.append(line)
        line = reader.readline(MAX_LINE_BYTES)
    return line
