"""The language server's team sync end to end: `pattern-memory serve` (driven by pytest-lsp's
client with VS Code's capabilities) syncing with the real team server (FastAPI on a real
PostgreSQL with pgvector, tests/team/conftest.py). Teammates push a fix to the server; the
language server pulls it, in the background every syncIntervalMinutes and on
`patternMemory.sync` (with `$/progress`), and a document holding the fix's before-code then
gets a diagnostic and a hover marked as the team's, with its contributors; deleted on the
server, it goes at the next sync. A sync in flight never holds up shutdown."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.gitrepo import RepoBuilder
from tests.lsp.lsphelp import (
    BEFORE,
    FIX_MESSAGE,
    SERVER,
    decode_code_actions_by_spec,
    diagnostics_for,
    eventually,
    execute,
    initialize,
    open_document,
)

CURSOR_BEFORE = (
    "def rows(conn, sql):\n    cur = conn.cursor()\n    cur.execute(sql)\n"
    "    return cur.fetchall()\n"
)
CURSOR_AFTER = (
    "def rows(conn, sql):\n    with conn.cursor() as cur:\n        cur.execute(sql)\n"
    "        return cur.fetchall()\n"
)
CURSOR_MESSAGE = "fix: close the cursor after the query"
LOAD_USER_AFTER = (
    "def load_user(db, uid):\n    row = db.get(uid)\n    if row is None:\n"
    '        return None\n    return row["name"]\n'
)
TEAM_SYNC_TITLE = "Pattern Memory: team sync"


@pytest_lsp.fixture(config=SERVER, params=["visual_studio_code"])
async def lsp(lsp_client: LanguageClient) -> Any:
    """A started server, not yet initialized; shut down (shutdown, exit, process gone) after."""
    decode_code_actions_by_spec(lsp_client)
    yield
    if lsp_client._server is not None and lsp_client._server.returncode is None:
        await lsp_client.shutdown_session()  # (a test may have shut it down itself)


@pytest.fixture
def workspace(repo_builder: RepoBuilder) -> Path:
    """A repository with no history of its own: whatever the server matches is the team's."""
    repo_builder.commit("chore: start", {"README.md": "app\n"})
    return repo_builder.path


async def key(team: Any, user: str, name: str) -> str:
    """A member's API key (made off the test's event loop: the helper runs its own)."""
    return await asyncio.to_thread(team.key, user, name)  # type: ignore[no-any-return]


async def push(team: Any, key: str, message: str, before: str, after: str) -> dict[str, Any]:
    """A teammate pushes a fix (the seed's POST /patterns body, with its message)."""
    return await asyncio.to_thread(_push, team, key, message, before, after)


def _push(team: Any, key: str, message: str, before: str, after: str) -> dict[str, Any]:
    with team.client(key) as http:
        response = http.post(
            "/patterns",
            json={
                "problem_type": "bug_fix",
                "code_before": before,
                "code_after": after,
                "commit_msg": message,
                "language": "python",
                "file_path": "app/code.py",
            },
        )
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def _delete(team: Any, key: str, pattern_id: str) -> None:
    with team.client(key) as http:
        assert http.delete(f"/patterns/{pattern_id}").status_code == 204


def team_diagnostics(found: Sequence[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in found if isinstance(d.data, dict) and "team" in d.data]


async def hover_text(client: LanguageClient, uri: str, position: types.Position) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert hover is not None, "no hover on the matched code"
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


def sync_progress(client: LanguageClient) -> list[list[Any]]:
    """The `$/progress` runs of team syncs: each one's reports, begin first."""
    runs = []
    for reports in client.progress_reports.values():
        begin = reports[0] if reports else None
        if isinstance(begin, types.WorkDoneProgressBegin) and begin.title == TEAM_SYNC_TITLE:
            runs.append(list(reports))
    return runs


async def test_the_background_sync_brings_the_teams_fix_into_diagnostics_and_hovers(
    lsp: LanguageClient, request: pytest.FixtureRequest, team_server: Any, workspace: Path
) -> None:
    bob, carol, alice = [
        await key(team_server, user, "periodic") for user in ("bob", "carol", "alice")
    ]
    first = await push(team_server, bob, FIX_MESSAGE, BEFORE, LOAD_USER_AFTER)
    again = await push(team_server, carol, "fix: guard the missing user", BEFORE, LOAD_USER_AFTER)
    assert first["created"] and not again["created"]  # one pattern, two contributors

    await initialize(
        lsp,
        request,
        workspace,
        {
            "teamUrl": team_server.url,
            "teamApiKey": alice,
            "syncIntervalMinutes": 1,
            "includeTeam": True,
            "indexOnStart": False,
        },
    )
    uri = (workspace / "users.py").as_uri()
    open_document(lsp, uri, BEFORE)
    found = await diagnostics_for(lsp, uri, lambda d: bool(team_diagnostics(d)))
    [diagnostic] = team_diagnostics(found)
    assert diagnostic.data["team"] == {"createdBy": "bob", "contributors": ["bob", "carol"]}
    assert diagnostic.message == f"{FIX_MESSAGE} (team pattern from bob, also shared by carol)"
    text = await hover_text(lsp, uri, diagnostic.range.start)
    assert text.startswith("**Team fix**")
    assert "*team pattern from bob, also shared by carol*" in text
    assert "if row is None" in text
    # It came by the schedule alone, with its progress.
    [run] = sync_progress(lsp)
    assert isinstance(run[-1], types.WorkDoneProgressEnd)
    assert "pulled 1 new" in (run[-1].message or "")


async def test_patternMemory_sync_pulls_what_a_teammate_pushed_with_progress(
    lsp: LanguageClient, request: pytest.FixtureRequest, team_server: Any, workspace: Path
) -> None:
    bob, alice = (
        await key(team_server, "bob", "command"),
        await key(team_server, "alice", "command"),
    )
    await initialize(
        lsp,
        request,
        workspace,
        {
            "teamUrl": team_server.url,
            "teamApiKey": alice,
            "syncIntervalMinutes": 0,  # never by itself: only the command syncs
            "includeTeam": True,
            "indexOnStart": False,
        },
    )
    uri = (workspace / "queries.py").as_uri()
    open_document(lsp, uri, CURSOR_BEFORE)
    assert not team_diagnostics(await diagnostics_for(lsp, uri, lambda d: True))

    pushed = await push(team_server, bob, CURSOR_MESSAGE, CURSOR_BEFORE, CURSOR_AFTER)
    result = await execute(lsp, "patternMemory.sync")
    assert (result["pulled"], result["pushed"], result["offline"]) == (1, 0, None)
    assert result["server"] == team_server.url
    [run] = sync_progress(lsp)
    assert isinstance(run[-1], types.WorkDoneProgressEnd)
    assert any(
        isinstance(r, types.WorkDoneProgressReport) and (r.message or "").startswith("pulling")
        for r in run
    ), run

    found = await diagnostics_for(lsp, uri, lambda d: bool(team_diagnostics(d)))
    [diagnostic] = team_diagnostics(found)
    assert diagnostic.data["team"] == {"createdBy": "bob", "contributors": ["bob"]}
    text = await hover_text(lsp, uri, diagnostic.range.start)
    assert text.startswith("**Team fix**") and "*team pattern from bob*" in text
    assert "with conn.cursor() as cur" in text

    # Idempotent: nothing new the second time.
    again = await execute(lsp, "patternMemory.sync")
    assert (again["pulled"], again["updated"], again["removed"]) == (0, 0, 0)

    # Deleted on the server: the next sync removes it, and its diagnostic goes.
    await asyncio.to_thread(_delete, team_server, bob, pushed["id"])
    removed = await execute(lsp, "patternMemory.sync")
    assert (removed["removed"], removed["pulled"]) == (1, 0)
    await diagnostics_for(lsp, uri, lambda d: not team_diagnostics(d))


class Blackhole:
    """A team server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._held.append(conn)
            self.connected.set()

    def close(self) -> None:
        self.listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


async def test_shutdown_does_not_wait_for_a_sync_in_flight(
    lsp: LanguageClient, request: pytest.FixtureRequest, workspace: Path, blackhole: Blackhole
) -> None:
    await initialize(
        lsp,
        request,
        workspace,
        {
            "teamUrl": blackhole.url,
            "teamApiKey": "pm_unused_key",
            "syncIntervalMinutes": 0,
            "indexOnStart": False,
        },
    )
    pending = asyncio.ensure_future(execute(lsp, "patternMemory.sync"))
    await eventually(blackhole.connected.is_set, "the sync to reach the server")
    started = time.monotonic()
    await lsp.shutdown_session()  # shutdown, exit, and the process gone
    took = time.monotonic() - started
    assert took < 8.0, f"shutdown took {took:.1f} s with a sync in flight"
    assert lsp._server is not None and lsp._server.returncode == 0
    pending.cancel()
