"""A real PostgreSQL with pgvector (pgserver) for the whole session, a fresh database per
test module, and the real team server (uvicorn on a loopback port, in a thread) on it."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from pattern_memory.team.app import create_app
from pattern_memory.team.config import ServerConfig
from pattern_memory.team.db import apply_migrations, connect
from pattern_memory.team.keys import create_key


def start_postgres(data_dir: Path) -> Any:
    """An embedded PostgreSQL with pgvector (pgserver); `.cleanup()` stops it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        return pgserver.get_server(data_dir, cleanup_mode="stop")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = start_postgres(tmp_path_factory.mktemp("pg") / "data")
    yield server
    server.cleanup()


def fresh_database(server: Any, label: str) -> str:
    name = "t_" + re.sub(r"\W", "_", label)[-40:] + "_" + uuid.uuid4().hex[:6]
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = str(server.get_uri(name))
    asyncio.run(apply_migrations(url))
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TeamServer:
    url: str  # http://127.0.0.1:port
    database_url: str
    storage: Path
    server: uvicorn.Server
    thread: threading.Thread

    def key(self, user: str, team: str, *, admin: bool = False) -> str:
        async def make() -> str:
            async with connect(self.database_url) as conn:
                return (await create_key(conn, user=user, team=team, admin=admin)).key

        return asyncio.run(make())

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []


def start_server(database_url: str, storage: Path) -> TeamServer:
    config = ServerConfig(database_url=database_url, storage_dir=storage)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the team server did not start")
        time.sleep(0.02)
    return TeamServer(f"http://127.0.0.1:{port}", database_url, storage, server, thread)


def stop_server(team: TeamServer) -> None:
    team.server.should_exit = True
    team.thread.join(30)


@pytest.fixture(scope="module")
def team_server(
    pg_server: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TeamServer]:
    url = fresh_database(pg_server, request.module.__name__)
    team = start_server(url, tmp_path_factory.mktemp("storage"))
    yield team
    stop_server(team)


class Tools:
    fresh_database = staticmethod(fresh_database)
    start_server = staticmethod(start_server)
    stop_server = staticmethod(stop_server)


@pytest.fixture
def team_tools() -> Tools:
    """The helpers above, for a module that needs its own database server."""
    return Tools()
