"""The language server class: its typed state and the protocol under it. Features are
assembled outside it (lsp/app.py), and no module of lsp/ is imported here but for typing."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from .. import __version__
from ..errors import Cancelled, PatternMemoryError, StoreError
from ..memory.embedder import Embedder, load_embedder
from ..memory.service import PatternMemory
from ..settings import Settings
from . import arguments, gate

if TYPE_CHECKING:
    from .analysis import DocumentAnalyzer
    from .indexing import BackgroundIndexer
    from .team_sync import TeamSync

log = logging.getLogger(__name__)
T = TypeVar("T")


class CancellableRequests:
    """One `threading.Event` per in-flight request, set when the client cancels it, so that
    work running in a thread can stop (pygls itself can only cancel what has not started).

    pygls runs a command's handler as a task of its own, so a `$/cancelRequest` can arrive
    after the request but before the handler registers: such early cancels are remembered
    (the most recent EARLY_CANCELS of them) and the later registration starts out cancelled."""

    EARLY_CANCELS = 256

    def __init__(self) -> None:
        self._events: dict[Any, threading.Event] = {}
        self._early: OrderedDict[Any, None] = OrderedDict()
        self._lock = threading.Lock()

    def register(self, msg_id: Any) -> threading.Event:
        event = threading.Event()
        with self._lock:
            if msg_id is not None:
                self._events[msg_id] = event
                if msg_id in self._early:
                    del self._early[msg_id]
                    event.set()
        return event

    def event(self, msg_id: Any) -> threading.Event:
        """The request's event if it was registered, else one nobody will set."""
        with self._lock:
            return self._events.get(msg_id) or threading.Event()

    def discard(self, msg_id: Any) -> None:
        with self._lock:
            self._events.pop(msg_id, None)

    def cancel(self, msg_id: Any) -> None:
        with self._lock:
            event = self._events.get(msg_id)
            if event is None and msg_id is not None:
                self._early[msg_id] = None
                while len(self._early) > self.EARLY_CANCELS:
                    self._early.popitem(last=False)
        if event is not None:
            event.set()


class PatternMemoryProtocol(LanguageServerProtocol):
    """pygls' protocol with every request answered (lsp/gate.py): malformed messages and
    params, requests before `initialize` and after `shutdown` get their JSON-RPC error."""

    initialize_seen = False
    shutdown_id: Any = None

    def structure_message(self, data: dict[str, Any]) -> Any:
        # Called by json.loads for every object, innermost first: only messages carry
        # "jsonrpc" (a top-level object without it reaches handle_message as a dict).
        if "jsonrpc" not in data:
            return data
        if (problem := gate.shape_error(data)) is not None:
            return self._refuse(data, gate.INVALID_REQUEST, problem)
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if self.get_message_type(data.get("method", "")) is None:
                return self._refuse(data, gate.METHOD_NOT_FOUND, "unknown method")
            return self._refuse(data, gate.INVALID_PARAMS, "the params do not fit the method")

    def handle_message(self, message: Any) -> None:
        if isinstance(message, gate.Answered):
            return
        if isinstance(message, dict):  # no "jsonrpc" member: not a JSON-RPC 2.0 message
            self._refuse(message, gate.INVALID_REQUEST, 'the "jsonrpc" member is missing')
            return
        if not hasattr(message, "jsonrpc"):  # a batch, a string, a number: not supported
            self._send_data(gate.error_response(None, gate.INVALID_REQUEST, "not a message"))
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if method == types.SHUTDOWN and is_request:
            self.shutdown_id = message.id
        if method == types.INITIALIZE:
            self.initialize_seen = True
        elif is_request and not self.initialize_seen:
            self._send_data(
                gate.error_response(
                    message.id, gate.SERVER_NOT_INITIALIZED, "the server is not initialized"
                )
            )
            return
        elif method is not None and not self.initialize_seen and method != types.EXIT:
            log.warning("notification %r before initialize: ignored", method)
            return
        if is_request and self._shutdown and method != types.EXIT:
            self._send_data(
                gate.error_response(message.id, gate.INVALID_REQUEST, "the server is shut down")
            )
            return
        super().handle_message(message)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:
        """pygls' own, which structures the arguments into the command's arguments class
        (lsp/arguments.py), given them as the one named object that class is made from; a
        problem with them is one line naming the command and the argument."""
        handler = self.fm.commands.get(params.command)
        kind = arguments.arguments_class(handler) if handler is not None else None
        try:
            if kind is not None:
                params.arguments = arguments.by_name(kind, params.arguments)
            return (yield from super().lsp_workspace__execute_command(params))
        except (arguments.CommandArgumentError, JsonRpcInvalidParams) as exc:
            # pygls raises InvalidParams("Invalid Params: <ours>") from our error.
            ours = exc if isinstance(exc, arguments.CommandArgumentError) else exc.__context__
            if not isinstance(ours, arguments.CommandArgumentError):
                raise
            raise JsonRpcInvalidParams(message=f"{params.command}: {ours}") from None

    def _refuse(self, data: dict[str, Any], code: int, problem: str) -> gate.Answered:
        log.warning("refused a message: %s", problem)
        if gate.is_request(data):
            self._send_data(gate.error_response(data["id"], code, problem))
        return gate.ANSWERED

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: types.ResponseError | None = None
    ) -> None:
        if error is not None:
            error = gate.without_traceback(error)
        super()._send_response(msg_id, result, error)

    def cancel_pending(self) -> None:
        """Cancel every request still running but this one (`shutdown`). pygls does this
        over the live dict, which a cancelled thread future's callback changes at once."""
        running: object = asyncio.current_task()  # the shutdown handler itself
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != self.shutdown_id and future is not running and not future.done():
                future.cancel()

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, PatternMemoryServer):
            server.requests.cancel(msg_id)


class PatternMemoryServer(LanguageServer):
    """The server and everything it holds. Feature modules get it as their first argument.
    Its parts that need the server (analysis, indexer, team_sync) are given to it by
    app.create_server, which alone makes a usable server."""

    analysis: DocumentAnalyzer
    indexer: BackgroundIndexer
    team_sync: TeamSync

    def __init__(self, embedder: Embedder | None = None) -> None:
        super().__init__(
            "pattern-memory",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=PatternMemoryProtocol,
            converter_factory=lambda: arguments.add_hooks(gate.strict_converter()),
        )
        self.embedder: Embedder = embedder if embedder is not None else load_embedder()
        # Files and environment; editor options are applied on top of these.
        self.base_settings = Settings()
        self.settings = Settings()
        self.workspace_roots: list[Path] = []
        self.memory: PatternMemory | None = None
        # From initializationOptions (the editor's secret store), for team sync; never logged.
        self.team_api_key: str | None = None
        self._opened_with: Settings | None = None  # the settings of the open store
        self._open_lock = asyncio.Lock()  # one (re)open at a time: the newest settings win
        self.memory_ready = asyncio.Event()  # set once the first attempt to open is over
        self.memory_problem = "the server is shutting down"
        self.requests = CancellableRequests()
        # Slow work runs here, never on the event loop (pygls' own pool reads stdin).
        self.request_pool = ThreadPoolExecutor(2, thread_name_prefix="pm-request")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.shutdown_requested = False  # `exit` without `shutdown` first exits with 1
        self._reported: set[str] = set()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A frame whose body is not JSON (nor UTF-8, or nested too deep to read) gets
        JSON-RPC's Parse error with a null id, as JSON-RPC 2.0 says; pygls only logs it."""
        if source is JsonRpcException and isinstance(error, ValueError | RecursionError):
            log.warning("refused a frame that is not JSON: %s", error)
            self.protocol._send_data(
                gate.error_response(None, gate.PARSE_ERROR, "Parse error: the body is not JSON")
            )
            return
        super().report_server_error(error, source)

    @property
    def workspace_root(self) -> Path | None:
        """The first workspace folder: its settings file applies, it is indexed by default."""
        return self.workspace_roots[0] if self.workspace_roots else None

    # --- running work off the event loop ---------------------------------------------------

    async def run_request(self, work: Callable[[threading.Event], T]) -> T:
        """Run `work(cancelled)` in a worker thread for the current request (registered with
        `requests` by its handler); a request the client cancels before it starts does no
        work at all, one cancelled while running sees `cancelled` set."""
        cancelled = self.requests.event(self.protocol.msg_id)

        def guarded() -> T:
            if cancelled.is_set():
                raise Cancelled
            return work(cancelled)

        await asyncio.sleep(0)  # a $/cancelRequest already read is handled first
        if cancelled.is_set():
            raise Cancelled
        return await asyncio.get_running_loop().run_in_executor(self.request_pool, guarded)

    async def require_memory(self) -> PatternMemory:
        """The open store (waiting for it to open), or StoreError saying why there is none."""
        await self.memory_ready.wait()
        if self.memory is None:
            raise StoreError(f"the pattern store is not open: {self.memory_problem}")
        return self.memory

    async def open_memory(self) -> None:
        """(Re)open the store if the settings that choose it (dbPath, userId, includeTeam)
        changed; other settings reach the open store in place (its queries read them). The
        previous store is closed unless the indexer is still using it (it is then left to
        the garbage collector). Opens are serialized and each reads the settings when its
        turn comes, so when `initialized` and a configuration change race, the store ends up
        opened with the newest settings."""
        async with self._open_lock:
            opened_with, settings = self._opened_with, self.settings
            same_store = opened_with is not None and (
                _store_identity(opened_with) == _store_identity(settings)
            )
            if self.memory is not None and same_store:
                self.memory.settings = settings
                self._opened_with = settings
                return
            await self._open_memory(settings)

    async def _open_memory(self, settings: Settings) -> None:
        loop = asyncio.get_running_loop()
        try:
            memory = await loop.run_in_executor(
                self.request_pool, lambda: PatternMemory.open(settings, self.embedder)
            )
        except PatternMemoryError as exc:
            if self.memory is None:  # nothing usable yet: requests get this reason
                self.memory_problem = str(exc)
                self.memory_ready.set()
            raise
        previous, self.memory = self.memory, memory
        self._opened_with = settings
        self.memory_ready.set()
        log.info("pattern store open: %s", settings.db_path)
        if previous is not None and previous is not self.indexer.memory_in_use:
            await loop.run_in_executor(self.request_pool, previous.close)

    # --- talking to the user -----------------------------------------------------------------

    def show_message(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report_once(self, key: str, message: str) -> None:
        """Log a condition once per server lifetime (e.g. a document too large to analyse)."""
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s", message)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run `callback` on the event loop, from any thread (messages are written there)."""
        if self.loop is None or self.loop.is_closed():
            return
        if threading.current_thread() is threading.main_thread():
            callback(*args)
        else:
            self.loop.call_soon_threadsafe(callback, *args)

    def stop_workers(self) -> None:
        self.request_pool.shutdown(wait=False, cancel_futures=True)

    def abandon_work(self) -> None:
        """After the connection ended (exit, or EOF without shutdown): cancel indexing and
        analyses so that the worker threads, which the interpreter joins at exit, finish
        promptly."""
        self.indexer.abandon()
        self.team_sync.abandon()
        self.analysis.stop()
        self.stop_workers()

    def exit_code(self) -> int:
        """The spec's: 0 after `shutdown`, 1 when the client went away without it."""
        return 0 if self.shutdown_requested else 1


def _store_identity(settings: Settings) -> tuple[object, ...]:
    """The settings that choose which store (and whose patterns) a server reads."""
    return (settings.db_path, settings.user_id, settings.include_team)
