"""The streaming parser reads the same commits whatever the chunking of git's output."""

from __future__ import annotations

import io
import subprocess

import pytest

from pattern_memory.mining.gitlog import (
    CommitHeader,
    LineReader,
    log_arguments,
    parse_log,
    unquote_path,
)
from tests.gitrepo import RepoBuilder


def _history(builder: RepoBuilder) -> bytes:
    builder.commit("Add a", {"a.py": "def a():\n    return 1\n"})
    builder.commit("Docs only", {"README.md": "--- not a header\n+++ nor this\n"})
    builder.commit(
        "Fix a\n\nbody line\n--- a/looks-like-a-header\n",
        {"a.py": "def a():\n    return 2\n", "dir with space/té.py": "-- x\n--- y\n"},
    )
    builder.commit("Fix: remove dashes", {"dir with space/té.py": "--- y\n"})
    return subprocess.run(
        ["git", "-C", str(builder.path), *log_arguments("HEAD")],
        capture_output=True,
        check=True,
    ).stdout


def _parsed(raw: bytes, chunk_size: int, want: bool) -> list[tuple[object, ...]]:
    def want_diff(header: CommitHeader) -> bool:
        return want and "Docs" not in header.message

    reader = LineReader(io.BytesIO(raw), chunk_size=chunk_size)
    return [
        (
            commit.header,
            [
                (f.old_path, f.new_path, [(h.old_start, h.new_start, h.lines) for h in f.hunks])
                for f in commit.files
            ],
        )
        for commit in parse_log(reader, want_diff, max_hunk_lines=200)
    ]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("want", [True, False])
def test_chunking_does_not_change_the_result(
    repo_builder: RepoBuilder, chunk_size: int, want: bool
) -> None:
    raw = _history(repo_builder)
    assert _parsed(raw, chunk_size, want) == _parsed(raw, 1 << 20, want)


def test_parsed_commits(repo_builder: RepoBuilder) -> None:
    commits = _parsed(_history(repo_builder), 1 << 20, want=True)
    messages = [header.message for header, _ in commits]  # type: ignore[attr-defined]
    assert messages == [
        "Add a",
        "Docs only",
        "Fix a\n\nbody line\n--- a/looks-like-a-header",
        "Fix: remove dashes",
    ]
    assert commits[1][1] == []  # a skipped commit's diff is not parsed
    fix_files = commits[2][1]
    assert [(old, new) for old, new, _ in fix_files] == [
        ("a.py", "a.py"),
        (None, "dir with space/té.py"),
    ]
    [(_, _, [(old_start, new_start, lines)])] = commits[3][1]
    assert (old_start, new_start) == (1, 1)
    # a removed line "-- x" reads "--- x": counted as hunk content, not as a file header
    assert lines == [b"--- x\n", b" --- y\n"]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"b/src/app.py\n", "src/app.py"),
        (b"a/x y.py\t\n", "x y.py"),  # git ends a name holding spaces with a tab
        (b'"b/t\\303\\251 \\"q\\".py"\n', 'té "q".py'),  # C-quoted: octal bytes, escapes
        (b'"a/tab\\there.py"\n', "tab\there.py"),
    ],
)
def test_paths_as_git_prints_them(raw: bytes, path: str) -> None:
    assert unquote_path(raw) == path


@pytest.mark.parametrize("chunk_size", [3, 64, 1 << 20])
def test_a_long_line_is_cut_to_the_limit_and_the_next_line_is_whole(chunk_size: int) -> None:
    raw = b"short\n+" + b"x" * 5000 + b"\nafter\nlast"
    reader = LineReader(io.BytesIO(raw), chunk_size=chunk_size)
    assert reader.readline(100) == b"short\n"
    assert reader.readline(100) == b"+" + b"x" * 100
    assert reader.readline(100) == b"after\n"
    assert reader.readline(100) == b"last"
    assert reader.readline(100) is None
    whole = LineReader(io.BytesIO(raw), chunk_size=chunk_size)
    assert [whole.readline() for _ in range(5)] == [*raw.splitlines(keepends=True), None]
