"""`pattern-memory forge` and `inject`: the assistant hooks from the command line, on a real
store and the real model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pattern_memory.cli import main

ANSWER = (
    "I looked at the traceback. The bug was that `load_config` indexes the dict with "
    "`config['timeout']`, which raises KeyError when the key is missing. The fix is to use "
    "`config.get('timeout', 30)` so a missing key falls back to the default."
)
REQUEST = "load_config crashes with KeyError: 'timeout' when the file has no timeout"


def _run(*args: str, stdin: str | None = None, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pattern_memory", *args, "--db", str(db)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_forge_from_stdin_then_inject_finds_it(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    forged = _run("forge", "--request", REQUEST, stdin=ANSWER, db=db)
    assert forged.returncode == 0, forged.stderr
    ids = forged.stdout.split()
    assert len(ids) == 1 and len(ids[0]) == 16
    assert "forged 1 pattern(s)" in forged.stderr

    again = _run("forge", "--request", REQUEST, stdin=ANSWER, db=db)
    assert again.stdout.split() == ids  # the same fix is known, not stored twice

    injected = _run("inject", "KeyError timeout when loading the config", db=db)
    assert injected.returncode == 0, injected.stderr
    block = injected.stdout
    assert block.startswith("<learned-patterns") and block.rstrip().endswith("</learned-patterns>")
    assert "config.get(&apos;timeout&apos;, 30)" in block or "config.get('timeout', 30)" in block


def test_inject_prints_nothing_when_nothing_is_relevant(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    assert _run("forge", "--request", REQUEST, stdin=ANSWER, db=db).returncode == 0
    result = _run("inject", "how do I center a div", db=db)
    assert (result.returncode, result.stdout) == (0, "")


def test_forge_reads_files_and_says_when_forging_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = tmp_path / "answer.md"
    answer.write_text(ANSWER, encoding="utf-8")
    request = tmp_path / "request.txt"
    request.write_text(REQUEST, encoding="utf-8")
    db = str(tmp_path / "p.db")
    assert main(["forge", str(answer), "--request-file", str(request), "--db", db]) == 0
    assert len(capsys.readouterr().out.split()) == 1

    monkeypatch.setenv("PATTERN_MEMORY_FORGE_ON_SUCCESS", "false")
    assert main(["forge", str(answer), "--db", db]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "forgeOnSuccess is false" in captured.err


def test_a_missing_input_file_is_one_clear_line(tmp_path: Path) -> None:
    result = _run("forge", str(tmp_path / "answer.md"), db=tmp_path / "p.db")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot read" in result.stderr


def test_invalid_utf8_is_decoded_with_replacement_from_stdin_dash_and_file(
    tmp_path: Path,
) -> None:
    # One rule for every input: undecodable bytes become U+FFFD (no surrogates reach
    # solution_hash or the tokenizer), so stdin, `forge -` and a file forge the same pattern.
    raw = ANSWER.encode() + b"\nnote: \xff\xfe bytes \xc3 here\n"
    answer = tmp_path / "answer.md"
    answer.write_bytes(raw)
    db = tmp_path / "p.db"
    ids = []
    for args in (["forge"], ["forge", "-"], ["forge", str(answer)]):
        result = subprocess.run(
            [sys.executable, "-m", "pattern_memory", *args, "--request", REQUEST, "--db", str(db)],
            input=raw,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert b"Traceback" not in result.stderr
        ids.append(result.stdout.split())
    assert len(ids[0]) == 1 and ids[0] == ids[1] == ids[2]


def test_no_text_on_a_terminal_or_argument_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert main(["inject", "--db", str(tmp_path / "p.db")]) == 2
    assert "standard input" in capsys.readouterr().err
