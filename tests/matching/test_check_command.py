"""`pattern-memory check FILE`: a real history indexed by the real CLI, then the editor's
learned-fix diagnostics as text and JSON, with exit codes a pre-commit hook can use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder

FIX_MESSAGE = "fix: crash when the user does not exist"
BEFORE = 'def load_user(db, uid):\n    row = db.get(uid)\n    return row["name"]\n'
AFTER = (
    "def load_user(db, uid):\n    row = db.get(uid)\n    if row is None:\n"
    '        return None\n    return row["name"]\n'
)
# The same bug elsewhere, its local names changed (uid -> user_id, row -> record).
LOOK_ALIKE = (
    "import json\n\n\ndef fetch_account(db, user_id):\n"
    '    record = db.get(user_id)\n    return record["name"]\n'
)
CLEAN = "def add(a, b):\n    return a + b\n"


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The module's store outlives the per-test environment isolation: no user config here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERN_MEMORY_")}
    env["XDG_CONFIG_HOME"] = str(cwd / "config")
    return subprocess.run(
        [sys.executable, "-m", "pattern_memory", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("check")
    builder = RepoBuilder(root / "repo")
    builder.commit("feat: add the user loader", {"app/users.py": BEFORE})
    builder.commit(FIX_MESSAGE, {"app/users.py": AFTER})
    db = root / "patterns.db"
    result = _cli("index", builder.path, "--db", db, "--no-progress", cwd=root)
    assert result.returncode == 0, result.stderr
    work = root / "work"
    work.mkdir()
    (work / "accounts.py").write_text(LOOK_ALIKE)
    (work / "maths.py").write_text(CLEAN)
    (work / "notes.txt").write_text(LOOK_ALIKE)  # no language: not checked
    return db, work


def test_a_look_alike_is_reported_with_its_place_and_exit_1(indexed: tuple[Path, Path]) -> None:
    db, work = indexed
    result = _cli("check", "accounts.py", "maths.py", "notes.txt", "--db", db, cwd=work)
    assert result.returncode == 1, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(f"accounts.py:5:5: {FIX_MESSAGE} [")
    assert "1 learned fix(es) apply" in result.stderr

    with_diff = _cli("check", "accounts.py", "--diff", "--db", db, cwd=work)
    assert "+    if record is None:" in with_diff.stdout


def test_json_output_carries_the_range_and_the_adapted_fix(indexed: tuple[Path, Path]) -> None:
    db, work = indexed
    result = _cli("check", "accounts.py", "--json", "--db", db, cwd=work)
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)
    assert (finding["path"], finding["line"], finding["column"]) == ("accounts.py", 5, 5)
    assert finding["endLine"] == 6 and finding["message"] == FIX_MESSAGE
    assert "record = db.get(user_id)" in finding["before"]
    assert "if record is None:" in finding["after"]


def test_clean_code_exits_0_and_errors_exit_2(indexed: tuple[Path, Path]) -> None:
    db, work = indexed
    clean = _cli("check", "maths.py", "--json", "--db", db, cwd=work)
    assert (clean.returncode, json.loads(clean.stdout)) == (0, [])

    missing_file = _cli("check", "nope.py", "--db", db, cwd=work)
    assert missing_file.returncode == 2
    assert "cannot read nope.py" in missing_file.stderr and "Traceback" not in missing_file.stderr

    missing_db = _cli("check", "accounts.py", "--db", work / "typo.db", cwd=work)
    assert missing_db.returncode == 2 and "no pattern database" in missing_db.stderr
    assert not (work / "typo.db").exists()
