"""A damaged database or a file that is not UTF-8 gives one line (StoreError, InputError),
never an apsw or decoding traceback."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from pattern_memory.cli import main
from pattern_memory.errors import StoreError
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES


def test_a_damaged_vector_table_is_one_line(
    settings: Settings,
    embedder: FastEmbedEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with PatternMemory.open(settings, embedder) as memory:
        memory.add_patterns(FIXES)
    raw = apsw.Connection(str(settings.db_path))
    # sqlite-vec's chunk of vectors, truncated: what a damaged page reads like.
    raw.execute("UPDATE pattern_vectors_vector_chunks00 SET vectors = zeroblob(8)")
    raw.close()
    with (
        PatternMemory.open(settings, embedder) as memory,
        pytest.raises(StoreError, match="damaged: run `pattern-memory reindex`"),
    ):
        memory.store.vectors.vec_knn(b"\0" * 4 * embedder.dim, 3)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["search", "ZeroDivisionError when the list is empty"]) != 0
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_importing_a_file_that_is_not_utf8_is_one_line(
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    binary = tmp_path / "x.jsonl"
    binary.write_bytes(b'{"a": 1}\n' + bytes(range(128, 256)) * 8)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    assert main(["import", str(binary)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{binary}: not UTF-8 text (JSONL expected" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
