from __future__ import annotations

from pathlib import Path

import pytest

from pattern_memory.memory import model_files
from pattern_memory.memory.embedder import FastEmbedEmbedder


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> FastEmbedEmbedder:
    """The real model, loaded once per test module."""
    model = FastEmbedEmbedder(cache_root=tmp_path_factory.mktemp("model-cache"))
    model.load()
    return model


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A directory with copies of the installed model files, for $PATTERN_MEMORY_MODEL_DIR."""
    directory = tmp_path / "model-copy"
    directory.mkdir()
    files = model_files.locate_model_files()
    for name, path in files.paths.items():
        (directory / name).write_bytes(path.read_bytes())
    return directory
