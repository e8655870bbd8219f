"""Indexing the workspace's git history in the background, with `$/progress` reports.

Runs in its own thread (the store is incremental: only new commits are mined), one run at a
time; it stops at the next commit when cancelled by the client (the progress's cancel
button or `$/cancelRequest` on the command) or when the server shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..errors import PatternMemoryError
from ..indexing.indexer import index_repository
from ..indexing.report import IndexReport
from ..memory.service import PatternMemory

if TYPE_CHECKING:
    from .server import PatternMemoryServer

log = logging.getLogger(__name__)
REPORT_EVERY_SECONDS = 0.25
# During a long first index, open documents are analysed again this often, so that what has
# been learned so far shows up before the whole history is read.
REFRESH_EVERY_SECONDS = 30.0


class ProgressReporter:
    """Work-done progress for one indexing run, when the client supports it."""

    def __init__(
        self, server: PatternMemoryServer, kind: str = "index", unit: str = "commits"
    ) -> None:
        self.server = server
        self.kind, self.unit = kind, unit
        self.token: str | None = None
        self._last_report = 0.0

    async def begin(self, title: str, message: str, on_cancel: threading.Event) -> None:
        window = self.server.client_capabilities.window
        if not (window and window.work_done_progress):
            return
        token = f"pattern-memory/{self.kind}/{uuid.uuid4()}"
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused: index without a progress bar
            log.info("no progress bar for indexing: %s", exc)
            return
        self.token = token
        cancel_future = self.server.work_done_progress.tokens.get(token)
        if cancel_future is not None:
            cancel_future.add_done_callback(lambda future: on_cancel.set())
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=title, message=message, percentage=0, cancellable=True
            ),
        )

    def report(self, done: int, total: int) -> None:
        """Called from the indexing thread; throttled."""
        now = time.monotonic()
        if self.token is None or (now - self._last_report < REPORT_EVERY_SECONDS and done < total):
            return
        self._last_report = now
        percentage = min(100, int(100 * done / total)) if total else 0
        value = types.WorkDoneProgressReport(
            message=f"{done}/{total} {self.unit}", percentage=percentage
        )
        self.server.call_soon(self.server.work_done_progress.report, self.token, value)

    def end(self, message: str) -> None:
        if self.token is not None:
            self.server.work_done_progress.end(
                self.token, types.WorkDoneProgressEnd(message=message)
            )
            self.server.work_done_progress.tokens.pop(self.token, None)


def summary(report: IndexReport) -> str:
    if report.cancelled:
        return f"cancelled after {report.commits_read} commits"
    if report.head is None:
        return "no commits yet"
    if report.up_to_date:
        return "up to date"
    return f"{report.commits_read} commits read, {report.patterns_added} new patterns"


class BackgroundIndexer:
    def __init__(self, server: PatternMemoryServer) -> None:
        self.server = server
        self.memory_in_use: PatternMemory | None = None
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pm-index")
        self._current_cancel: threading.Event | None = None
        self._templates_cancel: threading.Event | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def index(self, repo: Path, cancel: threading.Event | None = None) -> IndexReport:
        """Index `repo` (waiting for a run already under way to finish first)."""
        cancel = cancel or threading.Event()
        if self._templates_cancel is not None:
            self._templates_cancel.set()  # the history first: it starts again afterwards
        async with self._lock:
            if self._stopping:  # shutting down: queued runs do nothing
                return IndexReport(repository=str(repo), cancelled=True)
            memory = await self.server.require_memory()
            progress = ProgressReporter(self.server)
            await progress.begin("Pattern Memory: indexing", repo.name, cancel)
            self._current_cancel, self.memory_in_use = cancel, memory
            refreshed = time.monotonic()

            def on_progress(done: int, total: int) -> None:
                nonlocal refreshed
                progress.report(done, total)
                self.server.analysis.yield_to_analyses()  # the editor first
                if time.monotonic() - refreshed > REFRESH_EVERY_SECONDS:
                    refreshed = time.monotonic()
                    self.server.call_soon(self.server.analysis.refresh_all)

            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    self._executor,
                    lambda: index_repository(memory, repo, progress=on_progress, cancel=cancel),
                )
            except PatternMemoryError as exc:
                progress.end(f"failed: {exc}")
                raise
            except asyncio.CancelledError:
                # Nobody waits for the result any more (the event loop is ending: the
                # client went away): the thread stops at the next commit instead of
                # indexing the rest of the history.
                cancel.set()
                raise
            finally:
                self._current_cancel, self.memory_in_use = None, None
            progress.end(summary(report))
            log.info("indexed %s: %s (%.1f s)", repo, summary(report), report.seconds)
            if report.patterns_added:
                self.server.analysis.refresh_all()
            if not report.cancelled:
                self._in_background(self._prepare_templates(memory))
            return report

    async def _prepare_templates(self, memory: PatternMemory) -> None:
        """After an index: work out the stored templates the editor's finder would build on
        first use (a fresh index has none), so that the first analysis of any document, in
        this server or the next one, reads them. Like indexing: one at a time, yielding to
        analyses, cancelled by the client or by shutdown."""
        cancel = self._templates_cancel = threading.Event()
        async with self._lock:
            if self._stopping or cancel.is_set():
                return
            progress = ProgressReporter(self.server, kind="templates", unit="patterns")
            await progress.begin("Pattern Memory: preparing learned fixes", "", cancel)
            self._current_cancel = cancel

            def on_progress(done: int, total: int) -> None:
                progress.report(done, total)
                self.server.analysis.yield_to_analyses()

            started = time.monotonic()
            try:
                written = await asyncio.get_running_loop().run_in_executor(
                    self._executor,
                    lambda: memory.prepare_templates(cancel=cancel, progress=on_progress),
                )
            except PatternMemoryError as exc:
                progress.end(f"failed: {exc}")
                log.warning("learned fixes not prepared: %s", exc)
                return
            except asyncio.CancelledError:
                cancel.set()
                raise
            finally:
                self._current_cancel = None
            outcome = "cancelled" if cancel.is_set() else f"{written} prepared"
            progress.end(outcome)
            log.info("templates: %s (%.1f s)", outcome, time.monotonic() - started)

    def start_background(self, repo: Path) -> None:
        async def run() -> None:
            try:
                await self.index(repo)
            except PatternMemoryError as exc:
                log.warning("not indexing %s: %s", repo, exc)

        self._in_background(run())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    def abandon(self) -> None:
        """The client is gone (exit, or stdin closed): the run under way stops at the next
        commit (what it stored stays; the next run resumes there) and no new run starts.
        Callable from any thread, with or without a running event loop."""
        self._stopping = True
        if (cancel := self._current_cancel) is not None:
            cancel.set()

    async def stop(self, grace_seconds: float) -> None:
        """Cancel the run under way and wait (at most `grace_seconds`) for it to stop at a
        consistent point; no new run starts afterwards."""
        self._stopping = True
        if self._current_cancel is not None:
            self._current_cancel.set()
        if self._background:
            _done, pending = await asyncio.wait(set(self._background), timeout=grace_seconds)
            if pending:
                log.warning("indexing did not stop within %.0f s", grace_seconds)
        async with self._lock:  # a command's run, if any, has finished too
            pass
        self._executor.shutdown(wait=False, cancel_futures=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("background work failed", exc_info=error)
