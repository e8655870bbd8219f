"""The `pattern-memory` command.

Each capability's subcommands are a module of this package (`cli/<capability>.py`, which
exposes `register(subparsers)`; what several share is in cli/common.py); this module only
assembles them and turns failures into one clear line and a non-zero exit. Command modules
keep heavy imports (NumPy, the model, git) inside their handlers so that
`pattern-memory --help` stays instant.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from .. import __version__
from ..errors import PatternMemoryError
from . import adapters as adapters_commands
from . import assist as assist_commands
from . import check as check_commands
from . import indexing as indexing_commands
from . import lsp as lsp_commands
from . import memory as memory_commands
from . import mining as mining_commands
from . import sync as team_sync_commands
from . import team as team_commands

# One entry per capability, in the order `--help` lists them; each defines register(subparsers).
COMMAND_MODULES: tuple[ModuleType, ...] = (
    mining_commands,
    indexing_commands,
    memory_commands,
    lsp_commands,
    check_commands,
    adapters_commands,
    assist_commands,
    team_commands,
    team_sync_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pattern-memory",
        description="Learn the fixes in your git history and get them back where they matter.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


# Write errors of the output itself (not bugs): no space, quota, file size limit, I/O error.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's final flush of what is
    still buffered does not fail a second time (with an 'Exception ignored' message)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return run_command(handler, args)


def run_command(
    handler: Callable[[argparse.Namespace], int | None],
    args: argparse.Namespace,
    prog: str = "pattern-memory",
) -> int:
    """Run one command's handler; failures become one line on stderr and an exit code."""
    try:
        result = handler(args)
        # A full disk behind `> file` is an error, not a lost output. (`serve` over stdio
        # has closed standard output by now: nothing to flush.)
        if sys.stdout is not None and not sys.stdout.closed:
            sys.stdout.flush()
    except PatternMemoryError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error worth a traceback.
        sys.stderr.close()
        return 0
    except OSError as exc:
        if exc.errno not in OUTPUT_ERRNOS:
            raise
        # Writing the output failed (standard output on a full disk, say); files are
        # written through fileio, whose errors are InputErrors already.
        _discard_stdout()
        print(f"{prog}: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if not exc.name or exc.name.startswith("pattern_memory"):
            raise
        print(
            f"{prog}: error: the Python package {exc.name!r} is missing: install the project "
            "with `pip install -e .` (see README)",
            file=sys.stderr,
        )
        return 1
    return int(result or 0)
