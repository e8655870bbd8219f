"""CLI of the team sync client: `pattern-memory sync` and `pattern-memory team login|logout`.

(team/commands.py is the server's `team-server`.) Heavy imports stay in the handlers.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .common import ProgressBar, add_db_argument, open_memory, settings_from_args

if TYPE_CHECKING:
    from ..settings import Settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sync",
        help="share patterns with the team server and get the team's (teamUrl)",
        description=(
            "Push your patterns the team server does not have yet (secrets scrubbed; authors "
            "pseudonymized with anonymizeAuthors), your ratings of team patterns, and pull the "
            "team's patterns changed since the last sync (seen with includeTeam). Offline, "
            "everything waits for the next sync and the exit status is still 0."
        ),
    )
    add_db_argument(p)
    p.add_argument("--url", help="the team server (default: the teamUrl setting)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_sync)

    team = subparsers.add_parser("team", help="your access to the team server")
    actions = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    login = actions.add_parser(
        "login",
        help="save your API key for the team server (0600 file in your config directory)",
        description=(
            "Save your API key for teamUrl (or --url) in the user's config directory, readable "
            "only by you; never in config.yaml. PATTERN_MEMORY_API_KEY, when set, wins."
        ),
    )
    login.add_argument("--url", help="the team server (default: the teamUrl setting)")
    login.add_argument(
        "--key-stdin", action="store_true", help="read the key from standard input (scripts)"
    )
    login.add_argument(
        "--no-check", action="store_true", help="save without asking the server first"
    )
    login.set_defaults(handler=_login)
    logout = actions.add_parser("logout", help="remove the saved API key for the team server")
    logout.add_argument("--url", help="the team server (default: the teamUrl setting)")
    logout.set_defaults(handler=_logout)


def _server(args: argparse.Namespace, settings: Settings) -> str:
    if args.url:  # checked as the setting is (http or https)
        return type(settings)().merge({"teamUrl": args.url}, "--url")[0].team_url or ""
    if settings.team_url is None:
        raise InputError(
            "no team server: set teamUrl in ~/.config/pattern-memory/config.yaml "
            "(patterns: teamUrl: https://...) or pass --url"
        )
    return settings.team_url


def _sync(args: argparse.Namespace) -> int:
    from ..team.client import TeamClient
    from ..team.credentials import resolve_key
    from ..team.sync import sync

    settings = settings_from_args(args)
    server = _server(args, settings)
    key, _source = resolve_key(server)
    if key is None:
        raise InputError(
            f"no API key for {server}: run `pattern-memory team login` or set "
            "PATTERN_MEMORY_API_KEY"
        )
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress)
    phases = {"pushing": "patterns", "rating": "ratings", "pulling": "patterns"}

    def progress(phase: str, done: int, total: int) -> None:
        bar.phase(phase, phases.get(phase, ""))(done, max(total, done))

    with open_memory(settings, create=True) as memory, TeamClient(server, key) as client:
        try:
            report = sync(memory, client, progress=progress)
        finally:
            bar.close()
    if args.json:
        print(json.dumps({k: v for k, v in vars(report).items() if k != "steps"}))
    else:
        print(report.summary())
        if not settings.include_team and (report.pulled or report.updated):
            print("team patterns are shown with includeTeam: true", file=sys.stderr)
    if report.offline:
        print(
            f"pattern-memory: warning: offline, nothing lost: {report.offline}",
            file=sys.stderr,
        )
    return 0


def _read_key(args: argparse.Namespace) -> str:
    from ..team.credentials import check_key

    if args.key_stdin:
        return check_key(sys.stdin.readline())
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the key: use --key-stdin")
    return check_key(getpass.getpass("API key (not shown): "))


def _login(args: argparse.Namespace) -> int:
    from ..team.client import TeamClient
    from ..team.credentials import save_key

    settings = settings_from_args(argparse.Namespace(db=None))
    server = _server(args, settings)
    key = _read_key(args)
    if not args.no_check:
        with TeamClient(server, key) as client:
            client.changes(None, limit=1)  # TeamAuthError for a wrong key; offline: an error
    path = save_key(server, key)
    print(f"saved the API key for {server} in {path} (readable only by you)")
    return 0


def _logout(args: argparse.Namespace) -> int:
    from ..team.credentials import remove_key

    settings = settings_from_args(argparse.Namespace(db=None))
    server = _server(args, settings)
    removed = remove_key(server)
    print(f"removed the API key for {server}" if removed else f"no saved API key for {server}")
    return 0
