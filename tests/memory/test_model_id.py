"""The vectors' model id names the fastembed and onnxruntime versions (an upgrade re-embeds),
and pyproject pins both to the versions installed and tested."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from pattern_memory.memory.embedder import model_id_for

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_model_id_names_the_runtime_versions_pinned_in_pyproject() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    for package, tag in (("fastembed", "fastembed"), ("onnxruntime", "ort")):
        installed = importlib.metadata.version(package)
        assert f"{package}=={installed}" in dependencies
        assert f":{tag}-{installed}" in model_id_for(128)
