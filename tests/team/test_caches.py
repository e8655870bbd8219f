"""Each app process caches key owners and GET /patterns pages (team/caches.py); a change
made anywhere (another app process on the same database, the CLI, plain SQL) must reach
every process through the database's notifications: a revoked key answers 401 and a page
shows the change, within moments, in both of two servers on one database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.team.db import connect
from pattern_memory.team.deps import AppState
from pattern_memory.team.keys import revoke_key
from pattern_memory.team.store import Filters

from .conftest import TeamServer, Tools

PROMPTLY_S = 5.0


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PROMPTLY_S
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def state_of(team: TeamServer) -> AppState:
    state = team.server.config.app.state.team
    assert isinstance(state, AppState)
    return state


@pytest.fixture(scope="module")
def two_servers(
    pg_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TeamServer, TeamServer]]:
    team_tools = Tools()
    url = team_tools.fresh_database(pg_server, "caches")
    storage: Path = tmp_path_factory.mktemp("storage")
    first = team_tools.start_server(url, storage)
    second = team_tools.start_server(url, storage)
    for team in (first, second):  # the caches are on once each listener is LISTENing
        assert eventually(lambda team=team: state_of(team).principals.enabled)  # type: ignore[misc]
    yield first, second
    team_tools.stop_server(first)
    team_tools.stop_server(second)


def _status(team: TeamServer, key: str) -> int:
    with team.client(key) as client:
        return client.get("/patterns").status_code


def test_a_revoked_key_answers_401_in_every_process(
    two_servers: tuple[TeamServer, TeamServer],
) -> None:
    first, second = two_servers
    key = first.key("rita", "revokers")
    assert _status(first, key) == _status(second, key) == 200
    assert _status(first, key) == _status(second, key) == 200  # now from the caches
    assert len(state_of(first).principals) >= 1 and len(state_of(second).principals) >= 1

    async def revoke() -> None:
        async with connect(first.database_url) as conn:
            await revoke_key(conn, key)

    asyncio.run(revoke())
    assert eventually(lambda: _status(first, key) == 401)
    assert eventually(lambda: _status(second, key) == 401)


def _upload(n: int) -> dict[str, str]:
    return {"problem_type": "bug_fix", "code_before": f"v = {n}", "code_after": f"v = {n} + 1"}


def _total(team: TeamServer, key: str) -> int:
    with team.client(key) as client:
        answer = client.get("/patterns", params={"limit": 5})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])


def test_a_page_follows_writes_made_anywhere(
    two_servers: tuple[TeamServer, TeamServer],
) -> None:
    first, second = two_servers
    key = first.key("paula", "pagers")
    assert _total(first, key) == _total(second, key) == 0
    assert len(state_of(first).pages) >= 1 and len(state_of(second).pages) >= 1
    with first.client(key) as client:
        created = client.post("/patterns", json=_upload(1))
        assert created.status_code == 201, created.text
    assert _total(first, key) == 1  # the writer's own process: at once
    assert eventually(lambda: _total(second, key) == 1)
    with second.client(key) as client:
        assert client.post(f"/patterns/{created.json()['id']}/feedback", json={"helpful": True})
    assert eventually(lambda: _success_count(first, key) == 1)
    # An operator's SQL, through no app process.
    first.sql("UPDATE patterns SET success_count = 7 WHERE id = %s", (created.json()["id"],))
    assert eventually(lambda: _success_count(first, key) == 7)
    assert eventually(lambda: _success_count(second, key) == 7)
    first.sql("DELETE FROM patterns WHERE id = %s", (created.json()["id"],))
    assert eventually(lambda: _total(first, key) == 0)
    assert eventually(lambda: _total(second, key) == 0)


def _success_count(team: TeamServer, key: str) -> int:
    with team.client(key) as client:
        patterns = client.get("/patterns", params={"limit": 5}).json()["patterns"]
        return int(patterns[0]["success_count"]) if patterns else -1


def test_another_teams_write_keeps_this_teams_pages(
    two_servers: tuple[TeamServer, TeamServer],
) -> None:
    first, _ = two_servers
    mine, theirs = first.key("mo", "mine"), first.key("theo", "theirs")
    assert _total(first, mine) == 0
    [(team_id,)] = first.sql("SELECT id FROM teams WHERE name = 'mine'")
    page = (Filters(), 5, 1)
    pages = state_of(first).pages
    assert pages.get(str(team_id), page) is not None
    with first.client(theirs) as client:
        assert client.post("/patterns", json=_upload(2)).status_code == 201
    assert pages.get(str(team_id), page) is not None
    with first.client(mine) as client:
        assert client.post("/patterns", json=_upload(3)).status_code == 201
    assert pages.get(str(team_id), page) is None
