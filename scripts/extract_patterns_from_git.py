#!/usr/bin/env python3
"""The seed's entry point: mine a repository's git history into a JSONL file of patterns.

    python scripts/extract_patterns_from_git.py --repo-path /path/to/repo --output patterns.jsonl
        [--since-date 2024-01-01] [--include-unknown] [--anonymize-authors] [--progress]

The same as `pattern-memory extract`; works from a checkout without installing the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from pattern_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["extract", *sys.argv[1:]]))
