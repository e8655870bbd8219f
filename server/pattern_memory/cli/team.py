"""`pattern-memory team-server [--host --port --workers]` and its key commands
`create-key`, `revoke-key`, `list-keys`.

With DATABASE_URL the server uses that PostgreSQL (it must have pgvector) and never starts
one; without it, an embedded PostgreSQL (pgserver) keeps its data in the user's data
directory and stops with the command. FastAPI, psycopg and uvicorn are imported inside the
handlers so that `pattern-memory --help` stays instant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError
from ..signals import terminate_as_interrupt

if TYPE_CHECKING:
    from ..team.sql import Connection

T = TypeVar("T")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "team-server",
        help="run the team server (the seed's HTTP API on PostgreSQL + pgvector)",
        description="Serve the team's patterns and adapters over HTTP. Uses DATABASE_URL, "
        "else an embedded PostgreSQL with pgvector in the data directory. Subcommands manage "
        "per-user API keys.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument(
        "--workers", type=int, default=1, help="app processes sharing the database (default: 1)"
    )
    _add_location_arguments(p)
    p.set_defaults(handler=_serve)
    keys = p.add_subparsers(dest="team_command", metavar="KEY-COMMAND")

    k = keys.add_parser("create-key", help="create a user's API key (printed once)")
    k.add_argument("--user", required=True, help="the user's name (created if new)")
    k.add_argument("--team", required=True, help="the team's name (created if new)")
    k.add_argument("--admin", action="store_true", help="make the user a team admin")
    _add_location_arguments(k)
    k.set_defaults(handler=_create_key)

    k = keys.add_parser("revoke-key", help="revoke a key (by the key or its id)")
    k.add_argument("key", help="the key (pm_...) or its 12-character id from list-keys")
    _add_location_arguments(k)
    k.set_defaults(handler=_revoke_key)

    k = keys.add_parser("list-keys", help="list keys (ids only: keys are not stored)")
    k.add_argument("--team", help="only this team's keys")
    _add_location_arguments(k)
    k.set_defaults(handler=_list_keys)


def _add_location_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pgdata",
        type=Path,
        default=argparse.SUPPRESS,
        help="embedded PostgreSQL's data folder when DATABASE_URL is unset "
        "(default: <data dir>/team-server/pgdata)",
    )
    p.add_argument(
        "--storage",
        type=Path,
        default=argparse.SUPPRESS,
        help="adapter storage folder (default: $PATTERN_MEMORY_TEAM_STORAGE or "
        "<data dir>/team-server/adapters)",
    )


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The database URL, migrated; an embedded server for the block if there is no URL."""
    from ..team.db import EmbeddedPostgres, apply_migrations, database_url_from_env, default_pgdata

    url = database_url_from_env()
    embedded = None
    if url is None:
        embedded = EmbeddedPostgres.start(getattr(args, "pgdata", None) or default_pgdata())
        url = embedded.uri()
    try:
        asyncio.run(apply_migrations(url))
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..team.config import STORAGE_ENV, storage_dir_from_env
    from ..team.db import DATABASE_URL_ENV

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port must be 1..65535, got {args.port}")
    if not 1 <= args.workers <= 64:
        raise InputError(f"--workers must be 1..64, got {args.workers}")
    storage = getattr(args, "storage", None) or storage_dir_from_env()
    storage.mkdir(parents=True, exist_ok=True)
    # uvicorn stops gracefully on SIGINT or SIGTERM and then raises the signal again with
    # the handler it found: SIGTERM's default would end the process before the embedded
    # PostgreSQL is stopped, so both arrive here as KeyboardInterrupt after the shutdown.
    with terminate_as_interrupt(), _database(args) as url:
        # Every worker process reads the same two variables (app_from_env).
        os.environ[DATABASE_URL_ENV] = url
        os.environ[STORAGE_ENV] = str(storage.resolve())
        print(
            f"pattern-memory team-server on http://{args.host}:{args.port} "
            f"({args.workers} worker(s), adapters in {storage})",
            file=sys.stderr,
        )
        with suppress(KeyboardInterrupt):  # raised after the shutdown: a normal stop
            uvicorn.run(
                "pattern_memory.team.app:app_from_env",
                factory=True,
                host=args.host,
                port=args.port,
                workers=args.workers,
                access_log=False,
                log_level="warning",
            )
    return 0


def _with_connection(args: argparse.Namespace, work: Callable[[Connection], Awaitable[T]]) -> T:
    from ..team.db import connect

    async def run(url: str) -> T:
        async with connect(url) as conn:
            return await work(conn)

    with _database(args) as url:
        return asyncio.run(run(url))


def _create_key(args: argparse.Namespace) -> int:
    from ..team.keys import create_key

    new = _with_connection(
        args, lambda conn: create_key(conn, user=args.user, team=args.team, admin=args.admin)
    )
    role = "admin" if new.is_admin else "member"
    print(
        f"key for {new.user_name} ({role}) in team {new.team_name}, id {new.key_id}; "
        "shown once, store it now:",
        file=sys.stderr,
    )
    print(new.key)
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from ..team.keys import revoke_key

    info = _with_connection(args, lambda conn: revoke_key(conn, args.key))
    print(f"revoked key {info.key_id} of {info.user_name} in team {info.team_name}")
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    from ..team.keys import list_keys

    infos = _with_connection(args, lambda conn: list_keys(conn, team=args.team))
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        role = "admin" if info.is_admin else "member"
        print(
            f"{info.key_id}  {info.team_name}  {info.user_name}  {role}  "
            f"created {info.created_at:%Y-%m-%d %H:%M}  {state}"
        )
    return 0
