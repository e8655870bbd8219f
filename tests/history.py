"""Real git histories of many commits, built fast with `git fast-import` (one process
instead of one `git commit` per commit), for the indexing tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

START = 1_700_000_000  # 2023-11-14


def _module(index: int, factor: int) -> str:
    return (
        f'"""Module {index}."""\n\n\n'
        f"def compute_{index}(values):\n"
        f"    total = 0\n"
        f"    for value in values:\n"
        f"        total += value * {factor}\n"
        f"    return total\n\n\n"
        f"def describe_{index}():\n"
        f"    return 'module {index}'\n"
    )


def fix_message(number: int) -> str:
    module = number % 25
    return f"Fix wrong scaling factor in compute_{module} (#{number})"


def build_history(path: Path, commits: int, *, start: int = 0) -> None:
    """Append `commits` commits to the repository at `path` (created if missing); commit i
    fixes the scaling factor in one of 25 modules, so each yields one bug-fix pattern."""
    if not (path / ".git").exists():
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    parent = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "-q", "--verify", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    chunks: list[bytes] = []
    for number in range(start, start + commits):
        module = number % 25
        message = (fix_message(number) if number >= 25 else f"Add module {module}").encode()
        content = _module(module, number + 2).encode()
        when = START + number * 3600
        lines = [
            b"commit refs/heads/main",
            f"committer Dev <dev@example.com> {when} +0000".encode(),
            b"author Dev <dev@example.com> " + str(when).encode() + b" +0000",
            b"data " + str(len(message)).encode(),
            message,
        ]
        if parent and number == start:
            lines.append(b"from " + parent.encode())
        lines += [
            f"M 100644 inline src/module_{module}.py".encode(),
            b"data " + str(len(content)).encode(),
            content,
        ]
        # fast-import wants the author line before the committer line.
        lines[1], lines[2] = lines[2], lines[1]
        chunks.append(b"\n".join(lines) + b"\n")
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=b"".join(chunks),
        check=True,
    )
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard", "main"], check=True)
