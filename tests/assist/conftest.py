from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> FastEmbedEmbedder:
    """The real model, loaded once for the session: the forge detector and the proxy's
    lookups need its vectors (the learned head was trained on them), but not a fresh load per
    test (0.4 s each)."""
    model = FastEmbedEmbedder(cache_root=tmp_path_factory.mktemp("model-cache"))
    model.load()
    return model


@pytest.fixture
def open_memory(
    tmp_path: Path, embedder: FastEmbedEmbedder
) -> Iterator[Callable[..., PatternMemory]]:
    """Open the real memory (SQLite + sqlite-vec, the real model) on a temp database, with
    camelCase options applied to the settings; closed after the test."""
    opened: list[PatternMemory] = []

    def open_with(**options: Any) -> PatternMemory:
        settings, _ = Settings(db_path=tmp_path / "patterns.db").merge(options, "test")
        memory = PatternMemory.open(settings, embedder)
        opened.append(memory)
        return memory

    yield open_with
    for memory in opened:
        memory.close()
