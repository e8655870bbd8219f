from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pattern_memory import fileio
from pattern_memory.errors import InputError
from pattern_memory.fileio import atomic_text_writer, atomic_writer
from pattern_memory.patterns import (
    LineRange,
    Pattern,
    PatternSource,
    ProblemType,
    make_pattern_id,
    read_jsonl,
    solution_hash,
    write_jsonl_file,
)


def _pattern(**overrides: object) -> Pattern:
    values: dict[str, object] = {
        "pattern_id": make_pattern_id("abc", "a.py", "0"),
        "problem_type": ProblemType.BUG_FIX,
        "before_code": "def f(x):\n    return x + 1\n",
        "after_code": "def f(x):\n    return (x or 0) + 1\n",
        "commit_msg": "fix: handle None",
        "author": "dev@example.com",
        "date": "2024-03-15 10:30:00",
        "confidence": 0.85,
        "commit": "a" * 40,
        "file_path": "a.py",
        "language": "python",
        "before_lines": LineRange(1, 2),
        "after_lines": LineRange(1, 2),
    }
    values.update(overrides)
    return Pattern(**values)  # type: ignore[arg-type]


def test_seed_fields_are_named_and_typed_exactly() -> None:
    data = _pattern().to_json_dict()
    assert isinstance(data["pattern_id"], str) and len(data["pattern_id"]) == 16
    assert data["problem_type"] == "bug_fix"
    assert data["date"] == "2024-03-15 10:30:00"
    assert isinstance(data["confidence"], float)
    assert len(data["solution_hash"]) == 64
    assert data["source"] == "git"
    assert data["before_lines"] == [1, 2]


def test_solution_hash_ignores_line_endings_and_trailing_space_only() -> None:
    assert solution_hash("a = 1\r\nb = 2  \n", "c") == solution_hash("a = 1\nb = 2", "c")
    assert solution_hash("a = 1", "b") != solution_hash("a = 1", "c")
    assert solution_hash("a", "bc") != solution_hash("ab", "c")


def test_pattern_id_is_stable_and_16_hex() -> None:
    first = make_pattern_id("commit", "path", "3")
    assert first == make_pattern_id("commit", "path", "3")
    assert first != make_pattern_id("commit", "path", "4")
    assert len(first) == 16 and int(first, 16) >= 0


def test_jsonl_round_trip_is_lossless(tmp_path: Path) -> None:
    patterns = [
        _pattern(),
        _pattern(
            pattern_id=make_pattern_id("x"),
            problem_type=ProblemType.FEATURE_ADDITION,
            before_code="",
            source=PatternSource.FORGE,
            before_lines=None,
            commit_msg="feat: ünïcode ✓",
        ),
    ]
    target = tmp_path / "out.jsonl"
    assert write_jsonl_file(patterns, target) == 2
    assert list(read_jsonl(target)) == patterns


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pattern_id": "xyz"}, "pattern_id"),
        ({"problem_type": "refactor"}, "problem_type"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"date": "2024-03-15"}, "date"),
        ({"surprise": 1}, "unknown field"),
        ({"before_lines": [1]}, "before_lines"),
    ],
)
def test_bad_lines_name_the_file_line_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = _pattern().to_json_dict()
    data.update(change)
    target = tmp_path / "bad.jsonl"
    target.write_text(json.dumps(_pattern().to_json_dict()) + "\n" + json.dumps(data) + "\n")
    with pytest.raises(InputError, match=rf"bad.jsonl:2: .*{message}"):
        list(read_jsonl(target))


def test_missing_field_and_not_json(tmp_path: Path) -> None:
    target = tmp_path / "bad.jsonl"
    target.write_text('{"pattern_id": "0123456789abcdef"}\n')
    with pytest.raises(InputError, match="missing field"):
        list(read_jsonl(target))
    target.write_text("not json\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        list(read_jsonl(target))


def test_atomic_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_text_writer(target) as stream:
        stream.write("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_writer_reports_unwritable_directory(tmp_path: Path) -> None:
    with (
        pytest.raises(InputError, match="cannot write"),
        atomic_text_writer(tmp_path / "missing" / "out.txt"),
    ):
        pass


def test_atomic_writer_gives_the_mode_a_plain_write_would(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.txt"
    with atomic_text_writer(fresh) as stream:
        stream.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    with atomic_text_writer(kept) as stream:
        stream.write("new")
    assert kept.stat().st_mode & 0o777 == 0o640


def test_writeback_starts_each_written_range_once_and_keeps_the_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fileio._sync_file_range
    if real is None:
        pytest.skip("sync_file_range is Linux-only")
    started: list[tuple[int, int]] = []

    def spy(fd: int, offset: int, length: int, flags: int) -> int:
        started.append((offset, length))
        return real(fd, offset, length, flags)

    monkeypatch.setattr(fileio, "_sync_file_range", spy)
    chunk = bytes(range(256)) * 1024  # 256 KiB
    target = tmp_path / "big.bin"
    with atomic_writer(target) as stream:
        stream.write(b"header")
        stream.flush()
        writeback = fileio.Writeback(stream.fileno(), every=1 << 20)
        for index in range(10):
            offset = 6 + index * len(chunk)
            os.pwrite(stream.fileno(), chunk, offset)
            writeback.written(offset, len(chunk))
        os.pwrite(stream.fileno(), b"tail", 6 + 10 * len(chunk) + 100)  # not contiguous
        writeback.written(6 + 10 * len(chunk) + 100, 4)
    assert started == [(6, 4 << 18), (6 + (4 << 18), 4 << 18)]
    data = target.read_bytes()
    assert data[:6] == b"header" and data[6 : 6 + 10 * len(chunk)] == chunk * 10
    assert data.endswith(b"\0" * 100 + b"tail")
