"""The CLI's exit codes follow one scheme (README, "Exit codes"): 1 when the pattern
database or the model cannot be used, 2 for bad input (arguments, files, repositories,
outputs that cannot be written), always with one `pattern-memory: error:` line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.patterns import write_jsonl_file
from tests.memory.memory_samples import FIXES

CLI = [sys.executable, "-m", "pattern_memory"]


def _database(tmp_path: Path) -> Path:
    db, empty = tmp_path / "p.db", tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["import", str(empty), "--db", str(db)]) == 0
    return db


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["stats", "--db", "{tmp}/no/such.db"], 1),  # a missing database
        (["stats", "--db", "{tmp}/bogus.db"], 1),  # a file that is not a database
        (["search", "x", "-k", "0", "--db", "{db}"], 2),
        (["search", "--file", "{tmp}/none.py", "--line", "1", "--db", "{db}"], 2),
        (["export", "{tmp}", "--db", "{db}"], 2),  # a directory as the output
        (["export", "{tmp}/no/dir/out.jsonl", "--db", "{db}"], 2),
        (["import", "{tmp}/none.jsonl", "--db", "{db}"], 2),
        (["index", "{tmp}", "--db", "{db}"], 2),  # not a repository
        (["forget", "0123456789abcdef", "--db", "{db}"], 2),
        (["stats", "--no-such-flag"], 2),  # argparse's usage error
    ],
)
def test_exit_codes_follow_one_scheme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    (tmp_path / "bogus.db").write_bytes(b"not a database" * 100)
    db = _database(tmp_path)
    capsys.readouterr()
    filled = [a.format(tmp=tmp_path, db=db) for a in argv]
    try:
        assert main(filled) == code
    except SystemExit as exit_:  # argparse exits by itself
        assert exit_.code == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("pattern-memory: error:") or "error:" in err[-1]


def test_standard_output_on_a_full_disk_is_an_error(tmp_path: Path) -> None:
    db, source = tmp_path / "p.db", tmp_path / "fixes.jsonl"
    write_jsonl_file(FIXES, source)
    assert main(["import", str(source), "--db", str(db)]) == 0
    with Path("/dev/full").open("w") as full:
        for argv in (["stats"], ["export"]):
            run = subprocess.run(
                [*CLI, *argv, "--db", str(db)],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 2, run.stderr
            assert run.stderr.strip().splitlines() == [
                "pattern-memory: error: cannot write the output: No space left on device"
            ]
