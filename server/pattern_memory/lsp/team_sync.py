"""Team sync in the language server: every `syncIntervalMinutes` while `teamUrl` is set, and
on request (`patternMemory.sync`), with `$/progress`.

The sync itself (team/sync.py: HTTP and SQLite) runs in a worker thread of its own, one run
at a time, never on the event loop. That thread is a daemon: at shutdown a run in flight is
told to stop at its next step and waited for a short bound only, because an HTTP request to
a server that does not answer can block for its whole read timeout (30 s, then retries) and
neither shutdown nor the process's exit should wait for it (the interpreter joins a
ThreadPoolExecutor's threads at exit; it does not join daemons). What the run finished is
kept (team/sync.py records each step), the rest waits for the next sync.

The API key is the one the editor sent in initializationOptions (`teamApiKey`, from its
secret store), else PATTERN_MEMORY_API_KEY or the key `pattern-memory team login` saved.
After a run, who made and who contributed each team pattern is read into memory, so hovers
and diagnostics can mark the team's patterns without a lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types

from ..errors import Cancelled, InputError, PatternMemoryError
from ..memory.service import PatternMemory
from ..memory.team_store import TeamOrigin
from ..team.sync import SyncReport
from .indexing import ProgressReporter

if TYPE_CHECKING:
    from .server import PatternMemoryServer

log = logging.getLogger(__name__)
T = TypeVar("T")
SYNC = "patternMemory.sync"
FIRST_SYNC_DELAY_SECONDS = 5.0  # after start: indexing and the first analyses go first


class SyncProgress(ProgressReporter):
    """The indexing progress bar, counting what the sync is doing."""

    def phase(self, name: str, done: int, total: int) -> None:
        if self.token is None:
            return
        percentage = min(100, int(100 * done / total)) if total else 0
        message = f"{name} {done}/{total}" if total else name
        value = types.WorkDoneProgressReport(message=message, percentage=percentage)
        self.server.call_soon(self.server.work_done_progress.report, self.token, value)


class TeamSync:
    def __init__(self, server: PatternMemoryServer) -> None:
        self.server = server
        self.origins: dict[str, TeamOrigin] = {}  # pattern_id -> the team pattern's origin
        self.last_report: SyncReport | None = None
        self._worker: threading.Thread | None = None  # the thread of the run under way
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._schedule: tuple[str | None, int] | None = None
        self._cancel: threading.Event | None = None
        self._stopping = False

    def origin(self, pattern_id: str) -> TeamOrigin | None:
        return self.origins.get(pattern_id)

    # --- one run -------------------------------------------------------------------------

    async def run(self, cancel: threading.Event | None = None) -> SyncReport:
        """Sync once with teamUrl (waiting for a run under way first). InputError without a
        teamUrl or a key; TeamError when the server refuses; offline is in the report."""
        from ..team.client import TeamClient
        from ..team.credentials import resolve_key
        from ..team.sync import sync

        cancel = cancel or threading.Event()
        async with self._lock:
            server = self.server.settings.team_url
            if server is None:
                raise InputError("no team server: set the teamUrl setting")
            key = self.server.team_api_key
            if key is None:
                key, _source = await self._in_thread(lambda: resolve_key(server))
            if key is None:
                raise InputError(
                    f"no API key for {server}: set it in the editor (VS Code: Pattern Memory: "
                    "Set Team API Key), PATTERN_MEMORY_API_KEY, or `pattern-memory team login`"
                )
            memory = await self.server.require_memory()
            progress = SyncProgress(self.server)
            await progress.begin("Pattern Memory: team sync", server, cancel)
            self._cancel = cancel

            def work() -> SyncReport:
                with TeamClient(server, key, cancel=cancel) as client:
                    report = sync(memory, client, progress=progress.phase, cancel=cancel)
                self.origins = memory.team_sync.all_origins()
                return report

            try:
                report = await self._in_thread(work)
            except PatternMemoryError as exc:
                progress.end(f"failed: {exc}")
                raise
            except asyncio.CancelledError:  # shutdown, or the client cancelled the command
                cancel.set()
                progress.end("cancelled: the rest waits for the next sync")
                raise
            finally:
                self._cancel = None
            progress.end(report.summary().split("\n")[-1])
            self.last_report = report
            log.info("team sync: %s", report.summary().replace("\n", "; "))
            if report.pulled or report.updated or report.removed:
                self.server.analysis.refresh_all()
            return report

    async def _in_thread(self, work: Callable[[], T]) -> T:
        """`work()` in a daemon thread (see the module's docstring); cancelling the wait
        does not stop the thread: the run's cancel event does, at its next step."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if outcome.done():  # nobody waits any more (cancelled)
                return
            if error is not None:
                outcome.set_exception(error)
            else:
                outcome.set_result(result)  # type: ignore[arg-type]

        def run() -> None:
            result: T | None = None
            error: BaseException | None = None
            try:
                result = work()
            except BaseException as exc:  # handed to the waiting coroutine
                error = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
                loop.call_soon_threadsafe(settle, result, error)

        worker = threading.Thread(target=run, name="pm-sync", daemon=True)
        self._worker = worker
        worker.start()
        return await outcome

    async def load_origins(self, memory: PatternMemory) -> None:
        """The team patterns already pulled (an earlier session's), before any sync."""
        self.origins = await self._in_thread(memory.team_sync.all_origins)

    # --- the schedule --------------------------------------------------------------------

    def configure(self) -> None:
        """(Re)start the periodic sync for the settings in force: every syncIntervalMinutes
        while teamUrl is set; nothing when either is off."""
        settings = self.server.settings
        schedule = (settings.team_url, settings.sync_interval_minutes)
        if schedule == self._schedule and self._loop_task is not None:
            return
        self._schedule = schedule
        if self._loop_task is not None:
            self._loop_task.cancel()
            self._loop_task = None
        if self._stopping or settings.team_url is None or settings.sync_interval_minutes == 0:
            return
        self._loop_task = asyncio.get_running_loop().create_task(
            self._every(settings.sync_interval_minutes * 60.0)
        )

    async def _every(self, seconds: float) -> None:
        await asyncio.sleep(FIRST_SYNC_DELAY_SECONDS)
        while not self._stopping:
            try:
                report = await self.run()
                if report.offline:
                    log.warning("team sync: offline, will retry: %s", report.offline)
            except InputError as exc:
                self.server.report_once(f"team-sync:{exc}", f"team sync skipped: {exc}")
            except PatternMemoryError as exc:
                log.warning("team sync failed: %s", exc)
            await asyncio.sleep(seconds)

    async def stop(self, grace_seconds: float) -> None:
        """Stop the schedule and the run under way (at its next step; what it finished is
        kept), waiting at most `grace_seconds` for its thread: one still blocked in a
        request is left behind (a daemon, it does not hold up the process's exit)."""
        self._stopping = True
        if self._cancel is not None:
            self._cancel.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
        deadline = time.monotonic() + grace_seconds
        while self._busy() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._busy():
            log.warning(
                "team sync still waiting on %s after %.1f s: left to stop by itself",
                self.server.settings.team_url,
                grace_seconds,
            )

    def _busy(self) -> bool:
        worker = self._worker
        return (worker is not None and worker.is_alive()) or self._lock.locked()

    def abandon(self) -> None:
        """The client is gone: the run under way stops at its next step (any thread)."""
        self._stopping = True
        if (cancel := self._cancel) is not None:
            cancel.set()


def report_json(report: SyncReport) -> dict[str, Any]:
    return {
        "server": report.server,
        "pushed": report.pushed,
        "merged": report.merged,
        "votes": report.votes,
        "pulled": report.pulled,
        "updated": report.updated,
        "removed": report.removed,
        "offline": report.offline,
        "waitingPatterns": report.waiting_patterns,
        "waitingVotes": report.waiting_votes,
        "cancelled": report.cancelled,
        "summary": report.summary(),
    }


def register(server: PatternMemoryServer) -> None:
    from .execute import _command

    @_command(server, SYNC)
    async def sync_now(ls: PatternMemoryServer, args: Any) -> Any:
        report = await ls.team_sync.run(ls.requests.event(ls.protocol.msg_id))
        if report.cancelled:
            raise Cancelled
        if report.offline:
            ls.show_message(
                f"Pattern Memory: team server offline; {report.waiting_patterns} pattern(s) "
                f"and {report.waiting_votes} rating(s) wait for the next sync"
            )
        return report_json(report)
