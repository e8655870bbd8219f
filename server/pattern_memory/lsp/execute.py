"""`workspace/executeCommand`: index, search, get, forge, inject, feedback, stats.

Every command's arguments are a dataclass (arguments.py) that pygls structures from what the
client sent, and each command runs its work in a worker thread; a command cancelled with
`$/cancelRequest` before it starts does nothing, and one cancelled while indexing stops at
the next commit.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pygls.exceptions import (
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcRequestCancelled,
)

from ..errors import Cancelled, InputError, PatternMemoryError
from ..memory.hit_json import hit_json, pattern_summary
from ..memory.service import PatternMemory
from ..memory.types import StoredPattern
from .arguments import (
    CommandArguments,
    FeedbackArguments,
    ForgeArguments,
    IndexArguments,
    InjectArguments,
    PatternArguments,
    SearchArguments,
)

if TYPE_CHECKING:
    from .server import PatternMemoryServer

A = TypeVar("A", bound=CommandArguments)

INDEX_WORKSPACE = "patternMemory.indexWorkspace"
SEARCH = "patternMemory.search"
FORGE = "patternMemory.forge"
INJECT_BLOCK = "patternMemory.injectBlock"
FEEDBACK = "patternMemory.feedback"
STATS = "patternMemory.stats"
GET = "patternMemory.get"


def jsonable(value: Any) -> Any:
    """Plain JSON values from dataclasses, enums, paths and counters."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    """`commits_read` -> `commitsRead`: results use the same key style as the options."""
    out = {}
    for key, value in values.items():
        head, *rest = key.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    return out


def _command(
    server: PatternMemoryServer,
    name: str,
    kind: type[A] = CommandArguments,  # type: ignore[assignment]
) -> Callable[[Callable[[PatternMemoryServer, A], Awaitable[Any]]], Any]:
    """Register `name`, its arguments structured by pygls into `kind`, our failures turned
    into JSON-RPC errors that carry one clear message."""

    def decorate(handler: Callable[[PatternMemoryServer, A], Awaitable[Any]]) -> Any:
        async def run(ls: PatternMemoryServer, arguments: A) -> Any:
            msg_id = ls.protocol.msg_id
            cancelled = ls.requests.register(msg_id)  # from the start: waiting counts too
            try:
                result = await handler(ls, arguments)
                if cancelled.is_set():
                    raise Cancelled
                return result
            except Cancelled:
                raise JsonRpcRequestCancelled(message=f"{name}: cancelled") from None
            except InputError as exc:
                message = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
                raise JsonRpcInvalidParams(message=message) from None
            except PatternMemoryError as exc:
                raise JsonRpcInternalError(message=f"{name}: {exc}") from None
            finally:
                ls.requests.discard(msg_id)

        # What pygls reads to structure the arguments (the server's type is only known to
        # type checkers here, so the annotations are given as objects).
        run.__annotations__ = {"arguments": kind, "return": Any}
        server.command(name)(run)
        return handler

    return decorate


async def _in_worker(
    ls: PatternMemoryServer, work: Callable[[PatternMemory, threading.Event], Any]
) -> Any:
    memory = await ls.require_memory()
    return await ls.run_request(lambda cancelled: work(memory, cancelled))


def register(server: PatternMemoryServer) -> None:
    @_command(server, INDEX_WORKSPACE, IndexArguments)
    async def index_workspace(ls: PatternMemoryServer, args: IndexArguments) -> Any:
        root = ls.workspace_root
        if args.path is not None:
            path = Path(args.path).expanduser()
            if not path.is_absolute():  # relative to the workspace, not the server's cwd
                if root is None:
                    raise InputError(f"{INDEX_WORKSPACE}: no workspace folder for {path}")
                path = root / path
            root = path
        if root is None:
            raise InputError(f"{INDEX_WORKSPACE}: no workspace folder; pass a 'path'")
        report = await ls.indexer.index(root, ls.requests.event(ls.protocol.msg_id))
        if report.cancelled:
            raise Cancelled
        return camel_keys(jsonable(report))

    @_command(server, SEARCH, SearchArguments)
    async def search(ls: PatternMemoryServer, args: SearchArguments) -> Any:
        return await _in_worker(
            ls, lambda memory, _: [hit_json(h) for h in memory.search(args.text, k=args.k)]
        )

    @_command(server, GET, PatternArguments)
    async def get(ls: PatternMemoryServer, args: PatternArguments) -> Any:
        # A lookup, not an action: an id the user does not see (unknown, another user's,
        # decayed) is null rather than an error, so editors can show "gone" quietly.
        def work(memory: PatternMemory, _: threading.Event) -> StoredPattern | None:
            return memory.get(args.patternId)

        stored: StoredPattern | None = await _in_worker(ls, work)
        return None if stored is None else {**pattern_summary(stored), "retired": stored.retired}

    @_command(server, FORGE, ForgeArguments)
    async def forge(ls: PatternMemoryServer, args: ForgeArguments) -> Any:
        from ..assist.forge import forge_patterns

        ids = await _in_worker(
            ls, lambda memory, _: forge_patterns(memory, args.response, args.request)
        )
        if ids:
            ls.analysis.refresh_all()
        return ids

    @_command(server, INJECT_BLOCK, InjectArguments)
    async def inject_block(ls: PatternMemoryServer, args: InjectArguments) -> Any:
        from ..assist.inject import build_injection_block

        return await _in_worker(ls, lambda memory, _: build_injection_block(memory, args.query))

    @_command(server, FEEDBACK, FeedbackArguments)
    async def feedback(ls: PatternMemoryServer, args: FeedbackArguments) -> Any:
        def work(memory: PatternMemory, _: threading.Event) -> StoredPattern:
            return memory.record_outcome(args.patternId, args.outcome)

        stored: StoredPattern = await _in_worker(ls, work)
        ls.analysis.pattern_changed(stored)
        return {**pattern_summary(stored), "retired": stored.retired}

    @_command(server, STATS)
    async def stats(ls: PatternMemoryServer, args: CommandArguments) -> Any:
        # Top-level keys in camelCase like every other result (metric names stay as named).
        return await _in_worker(ls, lambda memory, _: camel_keys(memory.stats().as_json()))
