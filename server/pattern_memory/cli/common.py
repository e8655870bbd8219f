"""What the subcommands share: the --db flag, a command's settings, its memory (closed
however the command ends), and the progress bar of long runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..memory.service import PatternMemory
    from ..settings import Settings


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="the pattern database (setting dbPath)")


def settings_from_args(args: argparse.Namespace, repo: Path | None = None) -> Settings:
    """Settings for a command: its --db flag over the usual layers (see settings.py)."""
    from ..settings import load_settings

    overrides = {"dbPath": str(args.db)} if args.db else None
    return load_settings(repo_path=repo or Path.cwd(), overrides=overrides)


@contextmanager
def open_memory(settings: Settings, *, create: bool = False) -> Iterator[PatternMemory]:
    """The memory for one command, closed however the command ends. Only commands that
    add patterns (create=True: index, import, forge) make a database that is missing; for
    the others a missing one is an error naming the path (a mistyped --db makes nothing)."""
    from ..errors import StoreError
    from ..memory.service import PatternMemory

    if not create and not settings.db_path.exists():
        raise StoreError(
            f"no pattern database at {settings.db_path}: check --db (setting dbPath), or "
            "create one with `pattern-memory index` or `pattern-memory import`"
        )
    memory = PatternMemory.open(settings)
    try:
        yield memory
    finally:
        memory.close()


class ProgressBar:
    """One line of stderr per phase (mining commits, embedding patterns), only when stderr
    is a terminal; `phase(label, unit)` gives the progress(done, total) callback."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled and stream.isatty()
        self._label: str | None = None
        self._shown_at = 0.0

    def phase(self, label: str, unit: str) -> Callable[[int, int], None]:
        def update(done: int, total: int) -> None:
            self._draw(label, unit, done, total)

        return update

    def _draw(self, label: str, unit: str, done: int, total: int) -> None:
        if not self._enabled:
            return
        switched = label != self._label
        if not switched and done < total and time.monotonic() - self._shown_at < 0.1:
            return
        if switched and self._label is not None:
            self._stream.write("\n")
        self._label, self._shown_at = label, time.monotonic()
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        self._stream.write(f"\r{label:<9} [{bar}] {done}/{total} {unit}")
        self._stream.flush()

    def close(self) -> None:
        if self._label is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._label = None
