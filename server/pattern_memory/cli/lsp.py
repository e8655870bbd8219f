"""The `serve` subcommand: the language server on stdio, or on TCP with --tcp HOST:PORT."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. 127.0.0.1:2087), got {value!r}")
    return host, int(port)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the language server (stdio by default)",
        description="Run the Pattern Memory language server for an editor.",
    )
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        type=_host_port,
        help="listen on TCP instead of stdio (one client)",
    )
    # vscode-languageclient's stdio transport appends --stdio: accepted, stdio is the default.
    transport.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from ..lsp.app import create_server
    from ..lsp.logs import configure_logging

    server = create_server()
    configure_logging(server)
    if args.tcp is not None:
        host, port = args.tcp
        try:
            server.start_tcp(host, port)
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    else:
        from ..lsp.frames import CappedStdin

        server.start_io(stdin=CappedStdin(sys.stdin.buffer))  # type: ignore[arg-type]
    # The connection is over (exit, or the client's end closed): stop background work now
    # rather than when the whole history is indexed.
    server.abandon_work()
    return server.exit_code()
