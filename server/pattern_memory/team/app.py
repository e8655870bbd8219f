"""The team server's FastAPI app: routers, the connection pool's life, limits and errors.

The app holds no state of its own beyond caches: every fact lives in PostgreSQL and the
adapter storage directory, so any number of processes (`--workers`) or hosts behind a load
balancer can serve the same team.

Errors are always `{"detail": "<one line>"}`: validation errors name the first bad field
and never echo the input; a lost database answers 503; anything unexpected answers 500
with no trace (the trace goes to the server's log).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from multiprocessing import get_context

import psycopg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError
from .caches import ScopedCache
from .changes import ChangeListener
from .config import ServerConfig
from .db import apply_migrations, make_pool
from .deps import AppState
from .models import API_VERSION, ErrorOut
from .routes import adapters, health, patterns
from .store import ForbiddenError, NotFoundError

log = logging.getLogger(__name__)


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when a body grows past the limit; an HTTPException so that
    FastAPI's body parsing lets it through to the exception handlers (413)."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


class BodyLimit:
    """413 for a body over the limit: at once from Content-Length, else while it streams."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/adapters"
        limit = self.upload_limit if is_upload else self.json_limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit or declared < 0:
                    code, text = (
                        (413, "request body too large")
                        if declared > 0
                        else (
                            400,
                            "bad Content-Length",
                        )
                    )
                    response = JSONResponse({"detail": text}, status_code=code)
                    await response(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError()
            return message

        await self.app(scope, limited_receive, send)


_ABSOLUTE_PATH = re.compile(r"(?:/[^\s/:'\"(),]+)+/([^\s/:'\"(),]+)")


def public_message(text: str) -> str:
    """One line for a client: absolute paths (the server's storage layout) cut to their
    last part."""
    first = text.strip().splitlines()[0] if text.strip() else "invalid request"
    return _ABSOLUTE_PATH.sub(lambda match: match.group(1), first)[:300]


def _one_line(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid value")).splitlines()[0][:200]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def _error(code: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code, headers=dict(headers or {}))


def _install_error_handlers(app: FastAPI) -> None:
    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error(422, _one_line(exc))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        # Starlette's own (FastAPI's subclasses it): FastAPI raises one itself, 400, for a
        # body it cannot decode (not UTF-8).
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return _error(exc.status_code, detail, exc.headers)

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return _error(404, str(exc))

    async def forbidden(_: Request, exc: Exception) -> JSONResponse:
        return _error(403, str(exc))

    async def bad_input(_: Request, exc: Exception) -> JSONResponse:
        return _error(422, public_message(str(exc)))

    async def unstorable(_: Request, exc: Exception) -> JSONResponse:
        # Input PostgreSQL refuses as data (a NUL character in a text field or filter).
        return _error(422, "a value the database cannot store (such as a NUL character)")

    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("team database unavailable: %s", exc)
        return _error(503, "the team database is unavailable; try again later")

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return _error(500, "internal server error")

    handlers: list[tuple[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]]]
    handlers = [
        (RequestValidationError, validation),
        (HTTPException, http_error),
        (NotFoundError, not_found),
        (ForbiddenError, forbidden),
        (InputError, bad_input),
        (psycopg.DataError, unstorable),
        (psycopg.OperationalError, database_down),
        (PoolTimeout, database_down),
        (Exception, unexpected),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
    # Starlette's HTTPException (404 for unknown routes, 405) answers the same way.
    app.add_exception_handler(StarletteHTTPException, http_error)


def create_app(config: ServerConfig, *, migrate: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await apply_migrations(config.database_url)
        pool = make_pool(config.database_url, min_size=config.pool_min, max_size=config.pool_max)
        await pool.open(wait=False)
        executor = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        state = AppState(
            config=config,
            pool=pool,
            merge_executor=executor,
            pages=ScopedCache(config.page_cache_entries),
        )
        listener = ChangeListener(config.database_url, state.principals, state.pages)
        listener.start()
        app.state.team = state
        try:
            yield
        finally:
            await listener.stop()
            executor.shutdown(wait=True, cancel_futures=True)
            await pool.close()

    app = FastAPI(
        title="Pattern Memory team server",
        version=API_VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Any route: a body that cannot be decoded (FastAPI) or a bad Content-Length
        # (BodyLimit).
        responses={400: {"model": ErrorOut, "description": "Malformed request"}},
    )
    _install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(patterns.router)
    app.include_router(adapters.router)
    app.add_middleware(
        BodyLimit, json_limit=config.max_body_bytes, upload_limit=config.max_upload_bytes
    )
    return app


def app_from_env() -> FastAPI:
    """The factory `uvicorn --factory` and `--workers` use: each process reads the same
    DATABASE_URL and storage directory (set by `pattern-memory team-server`)."""
    from .config import page_cache_entries_from_env, storage_dir_from_env
    from .db import database_url_from_env

    url = database_url_from_env()
    if url is None:
        raise RuntimeError("DATABASE_URL is not set")
    # The parent already migrated; a worker only checks (cheap, and under the lock).
    return create_app(
        ServerConfig(
            database_url=url,
            storage_dir=storage_dir_from_env(),
            page_cache_entries=page_cache_entries_from_env(),
        )
    )
