#!/usr/bin/env python3
"""Merge LoRA adapters (the seed's entry point); the same as `pattern-memory merge-adapters`.

Works from a checkout without installing the package: the repository's server/ folder is put
on the import path. Needs NumPy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from pattern_memory.adapters.commands import script_main

if __name__ == "__main__":
    raise SystemExit(script_main())
