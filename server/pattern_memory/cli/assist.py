"""CLI hooks for any assistant: `inject` (pre-hook) prints the `<learned-patterns>` block for a
user message; `forge` (post-hook) stores the fixes an assistant's answer states.

Both read their text from an argument or a file, else from standard input, so that a wrapper
script can pipe a conversation through them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..assist.proxy import DEFAULT_LOOKUP_BUDGET_SECONDS
from ..errors import InputError
from ..patterns import clean_text
from .common import add_db_argument, open_memory, settings_from_args

MAX_INPUT_CHARS = 2_000_000  # an assistant answer or user message, generously


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inject",
        help="print the <learned-patterns> block for a user message (pre-hook)",
        description="Print the <learned-patterns> block of the patterns relevant to a user "
        "message, to prepend to an assistant's system prompt; prints nothing when none is.",
    )
    p.add_argument("query", nargs="?", help="the user's message (default: standard input)")
    add_db_argument(p)
    p.set_defaults(handler=_inject)

    p = subparsers.add_parser(
        "forge",
        help="store the fixes an assistant's answer states (post-hook)",
        description="Detect fix statements ('the bug was X, the fix is Y') in an assistant's "
        "answer and store them as patterns; prints the pattern ids, one per line.",
    )
    p.add_argument(
        "response", nargs="?", type=Path, help="file holding the answer (default: standard input)"
    )
    request = p.add_mutually_exclusive_group()
    request.add_argument("--request", help="the user's request the answer replied to")
    request.add_argument("--request-file", type=Path, help="file holding the user's request")
    add_db_argument(p)
    p.set_defaults(handler=_forge)

    p = subparsers.add_parser(
        "proxy",
        help="serve an OpenAI/Anthropic-compatible proxy that injects and forges patterns",
        description="Forward /v1/chat/completions and /v1/messages to UPSTREAM with the "
        "<learned-patterns> block in the system prompt, forge fixes from the answers, track "
        "their outcomes; other paths pass through. GET /metrics, GET /health.",
    )
    p.add_argument("--upstream", required=True, help="the model API's base URL")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--config", type=Path, help="a YAML file in the seed's 'patterns:' form")
    p.add_argument("--timeout", type=float, default=600.0, help="upstream timeout, seconds")
    p.add_argument(
        "--lookup-budget-ms",
        type=float,
        default=DEFAULT_LOOKUP_BUDGET_SECONDS * 1000,
        help="forward without injection when the pattern lookup takes longer (default: "
        "%(default)g)",
    )
    add_db_argument(p)
    p.set_defaults(handler=_proxy)

    p = subparsers.add_parser(
        "hook",
        help="coding-agent hooks (Claude Code UserPromptSubmit / Stop JSON on stdin)",
        description="user-prompt: print the <learned-patterns> block as additionalContext; "
        "stop: forge from the transcript's last answer and record the previous turn's outcome. "
        "Never fails the agent's turn: errors go to standard error, the exit status is 0.",
    )
    p.add_argument("event", choices=["user-prompt", "stop"])
    add_db_argument(p)
    p.set_defaults(handler=_hook)

    p = subparsers.add_parser(
        "mcp",
        help="serve the memory as MCP tools over stdio (for coding agents)",
        description="A Model Context Protocol server on standard input/output: tools "
        "search_patterns, get_pattern, record_fix, record_outcome; prompt learned_patterns.",
    )
    add_db_argument(p)
    p.set_defaults(handler=_mcp)


def _inject(args: argparse.Namespace) -> int:
    from ..assist.inject import build_injection_block

    query = clean_text(args.query) if args.query is not None else _read_stdin("the user's message")
    with open_memory(settings_from_args(args)) as memory:
        block = build_injection_block(memory, query)
    if block:
        sys.stdout.write(block if block.endswith("\n") else block + "\n")
    return 0


def _forge(args: argparse.Namespace) -> int:
    from ..assist.forge import forge_patterns

    from_stdin = not args.response or str(args.response) == "-"  # `forge -`: the Unix convention
    response = _read_stdin("the assistant's answer") if from_stdin else _read_file(args.response)
    request = _read_file(args.request_file) if args.request_file else args.request
    with open_memory(settings_from_args(args), create=True) as memory:
        if not memory.settings.forge_on_success:
            print("forgeOnSuccess is false: nothing forged", file=sys.stderr)
            return 0
        ids = forge_patterns(memory, response, request)
    for pattern_id in ids:
        print(pattern_id)
    print(f"forged {len(ids)} pattern(s)", file=sys.stderr)
    return 0


def _proxy(args: argparse.Namespace) -> int:
    from ..assist.proxy.app import ProxyConfig
    from ..assist.proxy.server import serve

    settings = settings_from_args(args)
    if args.config:
        if not args.config.is_file():
            raise InputError(f"{args.config}: no such file")
        settings = settings.with_file(args.config)
    if not args.upstream.startswith(("http://", "https://")):
        raise InputError(f"--upstream: expected an http(s) URL, got {args.upstream!r}")
    if not args.lookup_budget_ms > 0:
        raise InputError(
            f"--lookup-budget-ms: expected a positive number, got {args.lookup_budget_ms}"
        )
    config = ProxyConfig(args.upstream, settings, args.timeout, args.lookup_budget_ms / 1000)
    serve(config, args.host, args.port)
    return 0


def _hook(args: argparse.Namespace) -> int:
    from ..assist.hooks import run

    try:
        settings = settings_from_args(args)
    except Exception as exc:
        print(f"pattern-memory hook: {exc}", file=sys.stderr)
        return 0
    return run(args.event, settings)


def _mcp(args: argparse.Namespace) -> int:
    from ..assist.mcp_server import serve

    serve(settings_from_args(args))
    return 0


def _read_stdin(what: str) -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError(f"give {what} as an argument or on standard input")
    # Bytes decoded here with replacement: the same rule as files and arguments (clean_text).
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream stands in for stdin (embedding callers)
        return _bounded(clean_text(sys.stdin.read(MAX_INPUT_CHARS + 1)), "standard input")
    raw = buffer.read(4 * MAX_INPUT_CHARS + 4)
    return _bounded(clean_text(raw.decode("utf-8", errors="replace")), "standard input")


def _read_file(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return _bounded(handle.read(MAX_INPUT_CHARS + 1), str(path))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _bounded(text: str, where: str) -> str:
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"{where}: longer than {MAX_INPUT_CHARS:,} characters")
    return text
