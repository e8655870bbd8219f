from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings


@pytest.fixture
def open_memory(tmp_path: Path) -> Iterator[Callable[..., PatternMemory]]:
    """Open the real memory (SQLite + sqlite-vec, the real model) on a temp database, with
    camelCase options applied to the settings; closed after the test."""
    opened: list[PatternMemory] = []

    def open_with(**options: Any) -> PatternMemory:
        settings, _ = Settings(db_path=tmp_path / "patterns.db").merge(options, "test")
        memory = PatternMemory.open(settings)
        opened.append(memory)
        return memory

    yield open_with
    for memory in opened:
        memory.close()
