"""What the CLI says when the database is missing, damaged or read-only (issue 10): a
mistyped --db creates nothing, damage to the file is not sent round to `reindex`, and a
read-only database is not called damaged."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from pattern_memory.cli import main
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES

REINDEX_ADVICE = "run `pattern-memory reindex`"


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "ZeroDivisionError"],
        ["search", "--file", "code.py", "--line", "1"],
        ["stats"],
        ["export", "out.jsonl"],
        ["export"],
        ["inject", "ZeroDivisionError when the list is empty"],
        ["forget", "0123456789abcdef"],
        ["feedback", "0123456789abcdef", "--helpful"],
        ["reindex"],
    ],
)
def test_a_missing_database_is_an_error_and_nothing_is_created(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "code.py").write_text("x = 1\n")
    db = tmp_path / "no" / "such" / "dir" / "x.db"
    assert main([*argv, "--db", str(db)]) == 1
    err = _error(capsys)
    assert err == (
        f"pattern-memory: error: no pattern database at {db}: check --db (setting dbPath), "
        "or create one with `pattern-memory index` or `pattern-memory import`"
    )
    assert not (tmp_path / "no").exists() and not (tmp_path / "out.jsonl").exists()


def _filled(settings: Settings, embedder: FastEmbedEmbedder) -> Path:
    with PatternMemory.open(settings, embedder) as memory:
        memory.add_patterns(FIXES)
    return settings.db_path


def _garble_root_page(db: Path, table: str) -> None:
    """Overwrite the first B-tree page of one table: SQLite then reports the file as
    malformed when that table is read (what a bad sector or a torn copy does)."""
    raw = apsw.Connection(str(db))
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = int(str(raw.execute("PRAGMA page_size").fetchall()[0][0]))
    query = "SELECT rootpage FROM sqlite_master WHERE name = ?"
    root = int(str(raw.execute(query, (table,)).fetchall()[0][0]))
    raw.close()
    with db.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xab" * page_size)


def test_a_damaged_file_is_not_sent_round_to_reindex_and_export_saves_it(
    tmp_path: Path,
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = _filled(settings, embedder)
    _garble_root_page(db, "pattern_vectors_vector_chunks00")
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(db))
    assert main(["reindex"]) == 1
    err = _error(capsys)
    assert "damaged" in err and "`reindex` cannot repair" in err and "export" in err
    assert REINDEX_ADVICE not in err
    # The advice works: export what the file still holds, import it into a new database.
    saved, fresh = tmp_path / "saved.jsonl", tmp_path / "fresh.db"
    assert main(["export", str(saved)]) == 0
    assert main(["import", str(saved), "--db", str(fresh)]) == 0
    capsys.readouterr()
    assert main(["search", FIXES[0].commit_msg, "--db", str(fresh), "-k", "1"]) == 0
    assert FIXES[0].pattern_id in capsys.readouterr().out


def test_a_file_that_is_not_a_database_gets_advice_that_is_not_reindex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "patterns.db"
    bogus.write_bytes(b"this is not a database" * 100)
    for command in (["stats"], ["reindex"]):
        assert main([*command, "--db", str(bogus)]) == 1
        err = _error(capsys)
        assert "file is not a database" in err and "`reindex` cannot repair" in err
        assert REINDEX_ADVICE not in err


@contextlib.contextmanager
def _read_only(*paths: Path) -> Iterator[None]:
    """Make paths read-only for this process: chattr +i for root (mode bits do not stop
    root), chmod otherwise."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root without chattr: cannot make a file read-only")
        done = subprocess.run(["chattr", "+i", *map(str, paths)], check=False)
        if done.returncode != 0:
            pytest.skip("this file system has no immutable attribute")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        return
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_a_read_only_database_is_not_called_damaged(
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = _filled(settings, embedder)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(db))
    with _read_only(db):
        assert main(["reindex"]) == 1
        err = _error(capsys)
        assert "is read-only" in err and "it is not damaged" in err
        assert REINDEX_ADVICE not in err
        assert main(["stats"]) == 0  # reading still works


def test_a_read_only_folder_is_not_called_damaged(
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = _filled(settings, embedder)
    for side in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        side.unlink(missing_ok=True)  # closed cleanly: SQLite removed them, or we do
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(db))
    with _read_only(db.parent):
        assert main(["stats"]) == 1
        err = _error(capsys)
        assert "is read-only" in err and f"{db.name}-wal" in err
        assert "damaged:" not in err
