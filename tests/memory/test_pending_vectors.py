"""Patterns an interrupted `import` left without a vector (issue 10): search says so, the
next import embeds them, and import shows its progress on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from pattern_memory.patterns import write_jsonl_file
from tests.gitrepo import RepoBuilder
from tests.memory.memory_samples import FIXES

CLI = [sys.executable, "-m", "pattern_memory"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=180, check=False, env=env
    )


def test_an_interrupted_import_is_reported_and_completed(tmp_path: Path) -> None:
    source, db = tmp_path / "fixes.jsonl", tmp_path / "p.db"
    write_jsonl_file(FIXES, source)
    no_model = tmp_path / "no-model"
    no_model.mkdir()
    # The model fails after the patterns are stored: what a kill during embedding leaves.
    broken = _run(
        "import",
        str(source),
        "--db",
        str(db),
        env={**os.environ, "PATTERN_MEMORY_MODEL_DIR": str(no_model)},
    )
    assert broken.returncode == 1 and len(broken.stderr.strip().splitlines()) == 1
    found = _run("search", FIXES[0].commit_msg, "--db", str(db))
    assert found.returncode == 0, found.stderr
    assert "8 pattern(s) have no vector yet" in found.stderr
    assert "`pattern-memory import` embeds them" in found.stderr

    again = _run("import", str(source), "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert "0 new pattern(s)" in again.stdout and "(8 already known)" in again.stdout
    assert "embedded 8 text(s)" in again.stdout
    found = _run("search", FIXES[0].commit_msg, "--db", str(db))
    assert "no vector" not in found.stderr and FIXES[0].pattern_id in found.stdout


def test_import_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    source, db = tmp_path / "fixes.jsonl", tmp_path / "p.db"
    write_jsonl_file(FIXES, source)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*CLI, "import", str(source), "--db", str(db)],
            stderr=follower,
            stdout=subprocess.PIPE,
            text=True,
            timeout=180,
            check=True,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert "Imported 8 new pattern(s)" in done.stdout
    assert b"embedding" in shown and b"8/8 patterns" in shown


def test_an_up_to_date_index_says_it_embedded_what_was_pending(
    tmp_path: Path, repo_builder: RepoBuilder
) -> None:
    repo_builder.commit("Add loader", {"app.py": "def load(d, k):\n    return d[k]\n"})
    repo_builder.commit(
        "fix: KeyError in load", {"app.py": "def load(d, k):\n    return d.get(k)\n"}
    )
    db, no_model = tmp_path / "p.db", tmp_path / "no-model"
    no_model.mkdir()
    env = {**os.environ, "PATTERN_MEMORY_MODEL_DIR": str(no_model)}
    assert _run("index", str(repo_builder.path), "--db", str(db), env=env).returncode == 1
    again = _run("index", str(repo_builder.path), "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert (
        "up to date (no new commits); embedded 2 pattern(s) that an interrupted run" in again.stdout
    )
