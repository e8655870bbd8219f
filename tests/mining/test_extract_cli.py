"""`pattern-memory extract` and scripts/extract_patterns_from_git.py, run as a user would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.mining import MineOptions, mine_commits
from tests.gitrepo import RepoBuilder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "extract_patterns_from_git.py"
SEED_FIELDS = {
    "pattern_id": str,
    "problem_type": str,
    "before_code": str,
    "after_code": str,
    "commit_msg": str,
    "author": str,
    "date": str,
    "confidence": float,
}


def _history(builder: RepoBuilder) -> None:
    builder.commit("Add parser", {"p.py": "def parse(s):\n    return s.split()\n"},
                   date="2023-06-01T10:00:00+00:00")  # fmt: skip
    builder.commit("fix: strip before splitting",
                   {"p.py": "def parse(s):\n    return s.strip().split()\n"},
                   date="2024-03-15T10:30:00+00:00")  # fmt: skip
    builder.commit("Update docs", {"README.md": "# p\n"}, date="2024-03-16T10:30:00+00:00")


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_the_seed_command_lines(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    _history(repo_builder)
    output = tmp_path / "patterns.jsonl"
    done = _run_script("--repo-path", str(repo_builder.path), "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"extracted 2 patterns from 3 commits -> {output}\n"
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    expected = [
        p.to_json_dict() for c in mine_commits(repo_builder.path, MineOptions()) for p in c.patterns
    ]
    assert records == expected
    for record in records:
        for name, kind in SEED_FIELDS.items():
            assert isinstance(record[name], kind), name
    fix = records[1]
    assert fix["problem_type"] == "bug_fix"
    assert fix["date"] == "2024-03-15 10:30:00"
    assert fix["before_code"] == "def parse(s):\n    return s.split()"
    assert fix["after_code"] == "def parse(s):\n    return s.strip().split()"
    assert len(fix["solution_hash"]) == 64 and len(fix["pattern_id"]) == 16
    assert (fix["file_path"], fix["language"]) == ("p.py", "python")
    assert (fix["before_lines"], fix["after_lines"]) == ([1, 2], [1, 2])

    recent = tmp_path / "recent.jsonl"
    done = _run_script(
        "--repo-path", str(repo_builder.path), "--output", str(recent),
        "--since-date", "2024-01-01",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in recent.read_text().splitlines()] == [fix]


def test_output_dash_writes_to_stdout(
    repo_builder: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    _history(repo_builder)
    code = main(["extract", "--repo-path", str(repo_builder.path), "--output", "-"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    assert [json.loads(line)["problem_type"] for line in lines] == [
        "feature_addition",
        "bug_fix",
    ]
    assert "extract:" not in captured.err  # no progress when stderr is not a terminal


def test_progress_on_request(repo_builder: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    _history(repo_builder)
    args = ["extract", "--repo-path", str(repo_builder.path), "--output", "-", "--progress"]
    assert main(args) == 0
    assert "\rextract: 3/3 commits\n" in capsys.readouterr().err


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pattern-memory: error: ")
    return lines[0]


def test_bad_input_gives_one_clear_line(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    out = str(tmp_path / "out.jsonl")
    plain = tmp_path / "plain"
    plain.mkdir()
    line = _one_error_line(_run_script("--repo-path", str(plain), "--output", out))
    assert line.endswith(f"{plain}: not a git repository")
    line = _one_error_line(_run_script("--repo-path", str(repo_builder.path), "--output", out))
    assert line.endswith("the repository has no commits yet")
    _history(repo_builder)
    line = _one_error_line(
        _run_script(
            "--repo-path", str(repo_builder.path), "--output", out, "--since-date", "2024-13-01"
        )
    )
    assert "--since-date: expected a date like 2024-01-31, got '2024-13-01'" in line
    missing_dir = tmp_path / "no" / "such" / "out.jsonl"
    line = _one_error_line(
        _run_script("--repo-path", str(repo_builder.path), "--output", str(missing_dir))
    )
    assert line.startswith(f"pattern-memory: error: cannot write {missing_dir}")
    line = _one_error_line(
        _run_script("--repo-path", str(repo_builder.path), "--output", str(tmp_path))
    )
    assert line.endswith("it is a directory")
    line = _one_error_line(
        _run_script("--repo-path", str(repo_builder.path), "--output", out, "--max-hunk-lines", "0")
    )
    assert "maxHunkLines" in line
    assert not Path(out).exists()


def test_a_failed_run_leaves_the_previous_output_untouched(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    _history(repo_builder)
    # A later commit whose blob is lost: git log dies in the middle of the history.
    repo_builder.commit("Fix the lexer", {"lexer.py": "def lex(s):\n    return list(s)\n"})
    blob = repo_builder.repo.git.rev_parse("HEAD:lexer.py")
    (repo_builder.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    output = outputs / "patterns.jsonl"
    output.write_text("previous run\n", encoding="utf-8")
    done = _run_script("--repo-path", str(repo_builder.path), "--output", str(output))
    line = _one_error_line(done)
    assert "git log failed" in line and blob in line
    assert output.read_text(encoding="utf-8") == "previous run\n"
    assert os.listdir(outputs) == ["patterns.jsonl"]  # no temporary file left


def _long_history(repo: Path, commits: int) -> None:
    """Many real commits at once, through `git fast-import` (one process, not one per commit)."""
    lines = []
    for number in range(commits):
        body = "".join(f"def f{i}():\n    return {i + number}\n\n\n" for i in range(40))
        data = body.encode()
        message = f"fix: step {number}".encode()
        lines += [
            b"commit refs/heads/main",
            f"committer Dev <dev@example.com> {1_700_000_000 + number} +0000".encode(),
            b"data %d" % len(message),
            message,
            b"M 100644 inline big.py",
            b"data %d" % len(data),
            data,
        ]
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"],
        input=b"\n".join(lines) + b"\n",
        check=True,
    )
    subprocess.run(["git", "-C", str(repo), "reset", "-q", "--hard", "main"], check=True)


def _holds_data(directory: Path) -> bool:
    for entry in os.scandir(directory):
        with contextlib.suppress(FileNotFoundError):  # renamed or removed meanwhile
            if entry.stat().st_size:
                return True
    return False


def test_an_interrupted_run_leaves_no_file(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    _long_history(repo_builder.path, 3000)  # long enough (seconds) to be caught mid-run
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    output = outputs / "patterns.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--repo-path",
            str(repo_builder.path),
            "--output",
            str(output),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    # Wait for patterns in the temporary file, not for the file alone: a signal that lands
    # inside mkstemp, before the writer can clean up after it, is fileio's race, not this one.
    while not _holds_data(outputs) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)  # patterns are being written: mining is under way
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "pattern-memory: interrupted"
    assert "Traceback" not in stderr
    assert os.listdir(outputs) == []
