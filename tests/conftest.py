from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder
from tests.gitrepo import RepoBuilder


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's config or data."""
    home = tmp_path_factory.mktemp("home")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in list(os.environ):
        if name.startswith("PATTERN_MEMORY_") and name != "PATTERN_MEMORY_VENV":
            monkeypatch.delenv(name)


@pytest.fixture
def repo_builder(tmp_path: Path) -> RepoBuilder:
    return RepoBuilder(tmp_path / "repo")


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    """For tests that do not test embedding (tests/fakes.py): no ONNX model to load or run.
    Search by meaning, the CLI, the language server and the embedder keep the real one."""
    return HashEmbedder()
