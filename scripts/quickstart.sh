#!/usr/bin/env bash
# Installs Pattern Memory in .venv and learns from a repository (default: this one).
# Usage: bash scripts/quickstart.sh [REPO_PATH]
source "$(dirname "$0")/_venv.sh"
python -m pip install -q -e .
REPO="${1:-$ROOT}"
pattern-memory index "$REPO"
