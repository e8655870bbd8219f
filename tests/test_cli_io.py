"""Text that is not clean UTF-8 reaching the CLI and the embedder (issue 10): one rule,
undecodable bytes become U+FFFD, everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pattern_memory.patterns import clean_text, solution_hash


def test_clean_text_replaces_surrogate_escapes_and_lone_surrogates() -> None:
    escaped = b"crash \xff on None".decode("utf-8", "surrogateescape")
    assert clean_text(escaped) == "crash \ufffd on None"
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("plain é") == "plain é"
    assert len(solution_hash(escaped, "x")) == 64  # no UnicodeEncodeError


def test_search_with_an_invalid_utf8_argument_is_not_a_model_failure(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    subprocess.run(
        [sys.executable, "-m", "pattern_memory", "import", str(empty), "--db", str(db)],
        check=True,
        timeout=120,
    )
    query = os.fsdecode(b"crash \xff on None")  # as the shell passes $'crash \xff on None'
    result = subprocess.run(
        [sys.executable, "-m", "pattern_memory", "search", query, "--db", str(db)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert b"model failed" not in result.stderr and b"Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
