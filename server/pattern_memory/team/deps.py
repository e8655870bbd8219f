"""What a route needs: the app's shared state, a database connection and the caller.

Authentication is a dependency, not a middleware: an HTTPException raised inside a
Starlette middleware (as in the seed's snippet) escapes the exception handlers and answers
500. Every failure to authenticate answers the same 401, whatever was wrong. A key's owner
is cached by the key's SHA-256 while the process hears the database's change notifications
(team/caches.py): a revoked key's entry is dropped in every process milliseconds after
the revocation commits.

A request takes a pooled connection only when it first needs one (`Lazy`): one served from
the caches takes none, a search takes one after its query is embedded.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader
from psycopg_pool import AsyncConnectionPool

from ..memory.embedder import load_embedder
from .caches import ScopedCache
from .config import PAGE_CACHE_ENTRIES, ServerConfig
from .embedding import BatchingEmbedder
from .keys import Principal, authenticate
from .sql import Connection

UNAUTHORIZED = "invalid or missing API key"
PRINCIPAL_CACHE_ENTRIES = 10_000
# onnxruntime's intra-op threads for the server's model. One: concurrent requests are already
# batched into one model call, the other cores serve PostgreSQL and the app, and a second
# thread spins between calls, costing CPU (docs/benchmarks.md, Team server).
EMBED_THREADS = 1


@dataclass
class AppState:
    config: ServerConfig
    pool: AsyncConnectionPool[Connection]
    merge_executor: ProcessPoolExecutor | None = None
    embedder: BatchingEmbedder = field(
        default_factory=lambda: BatchingEmbedder(lambda: load_embedder(threads=EMBED_THREADS))
    )
    principals: ScopedCache[Principal] = field(
        default_factory=lambda: ScopedCache(PRINCIPAL_CACHE_ENTRIES)
    )
    # GET /patterns answers (JSON bytes) by team.
    pages: ScopedCache[bytes] = field(default_factory=lambda: ScopedCache(PAGE_CACHE_ENTRIES))


async def app_state(request: Request) -> AppState:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hand-off on
    # every request (a tenth of the CPU of GET /patterns in py-spy).
    state: AppState = request.app.state.team
    return state


State = Annotated[AppState, Depends(app_state)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a per-user key")


class LazyConnection:
    """The request's pooled connection, taken on first use, given back when it ends."""

    def __init__(self, pool: AsyncConnectionPool[Connection], stack: contextlib.AsyncExitStack):
        self._pool, self._stack = pool, stack
        self._conn: Connection | None = None

    async def get(self) -> Connection:
        if self._conn is None:
            self._conn = await self._stack.enter_async_context(self._pool.connection())
        return self._conn


async def lazy_connection(state: State) -> AsyncIterator[LazyConnection]:
    async with contextlib.AsyncExitStack() as stack:
        yield LazyConnection(state.pool, stack)


Lazy = Annotated[LazyConnection, Depends(lazy_connection)]


async def connection(lazy: Lazy) -> Connection:
    return await lazy.get()


Conn = Annotated[Connection, Depends(connection)]


async def principal(
    state: State, lazy: Lazy, key: Annotated[str | None, Depends(_api_key)]
) -> Principal:
    digest = hashlib.sha256(key.encode()).digest() if key else b""
    who = state.principals.get("", digest) if key else None
    if who is not None:
        return who
    ticket = state.principals.ticket("")
    who = await authenticate(await lazy.get(), key)
    if who is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "X-API-Key"})
    state.principals.put(ticket, digest, who)
    return who


Caller = Annotated[Principal, Depends(principal)]


def require_admin(who: Principal, what: str) -> None:
    if not who.is_admin:
        raise HTTPException(403, f"only a team admin may {what}")
