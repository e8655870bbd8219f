"""What a route needs: the app's shared state, a database connection and the caller.

Authentication is a dependency, not a middleware: an HTTPException raised inside a
Starlette middleware (as in the seed's snippet) escapes the exception handlers and answers
500. Every failure to authenticate answers the same 401, whatever was wrong.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader
from numpy.typing import NDArray
from psycopg_pool import AsyncConnectionPool

from ..memory.embedder import Embedder, load_embedder
from .config import ServerConfig
from .keys import Principal, authenticate
from .sql import Connection

UNAUTHORIZED = "invalid or missing API key"


@dataclass
class AppState:
    config: ServerConfig
    pool: AsyncConnectionPool[Connection]
    merge_executor: ProcessPoolExecutor | None = None
    _embedder: Embedder | None = None
    _embed_lock: threading.Lock = field(default_factory=threading.Lock)

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    async def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Vectors of `texts`, computed off the event loop (one batch at a time: the model
        uses every core it is given)."""

        def run() -> NDArray[np.float32]:
            with self._embed_lock:
                return self.embedder().embed(texts)

        return await asyncio.to_thread(run)


async def app_state(request: Request) -> AppState:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hand-off on
    # every request (a tenth of the CPU of GET /patterns in py-spy).
    state: AppState = request.app.state.team
    return state


State = Annotated[AppState, Depends(app_state)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a per-user key")


async def connection(state: State) -> AsyncIterator[Connection]:
    async with state.pool.connection() as conn:
        yield conn


Conn = Annotated[Connection, Depends(connection)]


async def principal(conn: Conn, key: Annotated[str | None, Depends(_api_key)]) -> Principal:
    who = await authenticate(conn, key)
    if who is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "X-API-Key"})
    return who


Caller = Annotated[Principal, Depends(principal)]


def require_admin(who: Principal, what: str) -> None:
    if not who.is_admin:
        raise HTTPException(403, f"only a team admin may {what}")
