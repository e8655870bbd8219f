from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> FastEmbedEmbedder:
    """The real model, loaded once for the whole memory test session."""
    model = FastEmbedEmbedder(cache_root=tmp_path_factory.mktemp("model-cache"))
    model.load()
    return model


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "data" / "patterns.db")


@pytest.fixture
def memory(settings: Settings, embedder: FastEmbedEmbedder) -> Iterator[PatternMemory]:
    opened = PatternMemory.open(settings, embedder)
    yield opened
    opened.close()
