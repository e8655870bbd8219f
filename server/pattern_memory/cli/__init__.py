"""The CLI layer: the `pattern-memory` command (cli/main.py) and every capability's
subcommands (cli/<capability>.py), the only place that parses arguments and prints."""

from __future__ import annotations

from .main import build_parser, main, run_command

__all__ = ["build_parser", "main", "run_command"]
