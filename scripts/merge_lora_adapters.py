#!/usr/bin/env python3
"""Merge LoRA adapters (the seed's entry point); the same as `pattern-memory merge-adapters`.

Works from a checkout without installing the package: the repository's server/ folder is put
on the import path. Needs NumPy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

import argparse

from pattern_memory.cli import run_command
from pattern_memory.cli.adapters import add_merge_arguments, run_merge


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="merge_lora_adapters.py",
        description="Merge LoRA adapters (safetensors files or PEFT folders) into one.",
    )
    add_merge_arguments(parser)
    return run_command(run_merge, parser.parse_args(), prog="merge_lora_adapters.py")


if __name__ == "__main__":
    raise SystemExit(main())
