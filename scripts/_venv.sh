# Sourced by the scripts: makes (once) and activates the project's virtual environment in .venv,
# so that nothing is installed into the system's Python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${PATTERN_MEMORY_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
