"""The team server's PostgreSQL: where it is, the async connection pool, the embedded server.

psycopg 3 with psycopg_pool (rather than SQLAlchemy 2 async): the queries are a handful of
hand-written statements that need PostgreSQL features directly (pgvector operators, ON
CONFLICT merges, keyset pagination), so an ORM would add a layer and a second connection
model without removing any SQL; psycopg's pool checks a connection before lending it,
which is what lets the server recover on its own when the database comes back. The check is
a round trip, so only a connection idle for a while is checked (`check_if_idle`): one given
back a moment ago was working then, and if the database went away since, the request
answers 503 and the pool replaces the broken connection.

With no DATABASE_URL the server runs an embedded PostgreSQL with pgvector (the `pgserver`
package) whose data lives in the user's data directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from ..errors import PatternMemoryError
from ..settings import default_data_dir
from .migrations import migrate
from .sql import Connection

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
CONNECT_TIMEOUT_S = 5
# How long a request waits for a free (or, while the database is down, a new) connection
# before it is answered 503.
POOL_TIMEOUT_S = 5.0
# A pooled connection given back less than this long ago is lent again unchecked.
UNCHECKED_REUSE_S = 1.0


class DatabaseUnavailableError(PatternMemoryError):
    """The team database cannot be reached."""


def default_pgdata() -> Path:
    return default_data_dir() / "team-server" / "pgdata"


@dataclass
class EmbeddedPostgres:
    """A pgserver instance owned by this process: started here, stopped by stop()."""

    pgdata: Path
    server: Any  # pgserver.PostgresServer (untyped package)

    @classmethod
    def start(cls, pgdata: Path) -> EmbeddedPostgres:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        with _quiet_platformdirs():
            try:
                import pgserver
            except ModuleNotFoundError:
                raise DatabaseUnavailableError(
                    "no DATABASE_URL and the embedded PostgreSQL (pgserver) is not installed: "
                    "`pip install 'pattern-memory[team]'` or set DATABASE_URL"
                ) from None
            server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        return cls(pgdata, server)

    def uri(self, database: str | None = None) -> str:
        return str(self.server.get_uri(database))

    def stop(self) -> None:
        self.server.cleanup()


@contextlib.contextmanager
def _quiet_platformdirs() -> Iterator[None]:
    # pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR that warns on
    # every start, although the fallback (/tmp/runtime-<uid>) is fine.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def database_url_from_env() -> str | None:
    return os.environ.get(DATABASE_URL_ENV) or None


async def _configure(conn: Connection) -> None:
    # Statement timeout: no request holds a connection for long, whatever it asked for.
    await conn.execute("SET statement_timeout = '30s'")


_returned_at: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()


async def _note_returned(conn: Connection) -> None:
    _returned_at[conn] = time.monotonic()


async def check_if_idle(conn: Connection) -> None:
    """The pool's check, skipped for a healthy connection given back a moment ago."""
    returned = _returned_at.get(conn)
    recent = returned is not None and time.monotonic() - returned < UNCHECKED_REUSE_S
    if recent and conn.pgconn.status == ConnStatus.OK:
        return
    await AsyncConnectionPool.check_connection(conn)


def make_pool(
    url: str, *, min_size: int = 2, max_size: int = 10
) -> AsyncConnectionPool[Connection]:
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=POOL_TIMEOUT_S,
        # Autocommit: each statement commits on its own, and `conn.transaction()` blocks commit
        # when they end, before the route answers (never after the response is sent).
        kwargs={"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S, "autocommit": True},
        configure=_configure,
        check=check_if_idle,
        reset=_note_returned,
        reconnect_timeout=0,  # keep trying for ever: the database may come back later
        connection_class=psycopg.AsyncConnection[DictRow],
        name="team",
    )


async def apply_migrations(url: str) -> list[str]:
    try:
        async with await psycopg.AsyncConnection.connect(
            url, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        ) as conn:
            return await migrate(conn)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the team database: {_first_line(exc)}"
        ) from None


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[Connection]:
    """One short-lived connection (the CLI's key commands)."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the team database: {_first_line(exc)}"
        ) from None
    async with conn:
        yield conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
