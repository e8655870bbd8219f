"""Per-document background analysis: debounced per URI, run in a worker thread, results kept
per document version so that hover and code actions answer from memory in microseconds."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ..errors import Cancelled
from ..matching.finder import FixFinder
from .convert import LocatedFix, contains, document_language, locate, overlaps
from .diagnostics import publish_diagnostics

if TYPE_CHECKING:
    from lsprotocol import types

    from ..memory.types import StoredPattern
    from .server import PatternMemoryServer

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.1
# How long background work (the indexer, between two commits) waits at most for analyses in
# flight before it goes on: the editor comes first, but cannot stall indexing for good.
YIELD_AT_MOST_SECONDS = 1.0
# Larger documents (generated files, logs, minified code) are not analysed at all.
MAX_ANALYZED_CHARS = 2_000_000


@dataclass(frozen=True)
class DocumentResult:
    uri: str
    version: int | None
    fixes: tuple[LocatedFix, ...]

    def at(self, position: types.Position) -> list[LocatedFix]:
        return [fix for fix in self.fixes if contains(fix.range, position)]

    def within(self, code_range: types.Range) -> list[LocatedFix]:
        return [fix for fix in self.fixes if overlaps(fix.range, code_range)]


class DocumentAnalyzer:
    def __init__(self, server: PatternMemoryServer) -> None:
        self.server = server
        self.finder: FixFinder[StoredPattern] = FixFinder.create()
        self.debounce = DEBOUNCE_SECONDS
        self._results: dict[str, DocumentResult] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancels: dict[str, threading.Event] = {}
        # One thread: analyses queue behind each other instead of competing for 2 cores.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pm-analysis")
        # Analyses submitted and not finished; `idle` is set when there are none.
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def result(self, uri: str, version: int | None) -> DocumentResult | None:
        """The analysis of exactly this version of the document, if it is done."""
        result = self._results.get(uri)
        return result if result is not None and result.version == version else None

    def schedule(self, uri: str, *, delay: float | None = None) -> None:
        """(Re)analyse a document once edits have settled for `delay` seconds."""
        self._cancel(uri)
        cancel = threading.Event()
        self._cancels[uri] = cancel
        task = asyncio.get_running_loop().create_task(
            self._run(uri, self.debounce if delay is None else delay, cancel)
        )
        self._tasks[uri] = task
        task.add_done_callback(_log_failure)

    def refresh_all(self) -> None:
        """The store changed: analyse every open document again."""
        self.finder.store_changed()
        for uri in list(self.server.workspace.text_documents):
            self.schedule(uri, delay=0)

    def pattern_changed(self, stored: StoredPattern) -> None:
        """A pattern's counts changed (feedback): documents showing it are analysed again
        (from the cached lookups), so that hovers show the new figures and a pattern that
        is no longer trusted disappears."""
        pattern_id = stored.pattern.pattern_id
        self.finder.updated[pattern_id] = stored
        for uri, result in list(self._results.items()):
            if any(fix.pattern_id == pattern_id for fix in result.fixes):
                self.schedule(uri, delay=0)

    def yield_to_analyses(self) -> None:
        """Called by background Python work (from its own thread) between two steps: wait
        while analyses are in flight (at most YIELD_AT_MOST_SECONDS). Both hold the GIL
        for pure Python work, and an analysis sharing it with the indexer takes twice as
        long as alone."""
        self._idle.wait(YIELD_AT_MOST_SECONDS)

    def _started(self) -> None:
        with self._in_flight_lock:
            self._in_flight += 1
            self._idle.clear()

    def _finished(self) -> None:
        with self._in_flight_lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def forget(self, uri: str) -> None:
        self._cancel(uri)
        self._tasks.pop(uri, None)
        self._results.pop(uri, None)

    def stop(self) -> None:
        for uri in list(self._tasks):
            self._cancel(uri)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _cancel(self, uri: str) -> None:
        if (cancel := self._cancels.pop(uri, None)) is not None:
            cancel.set()
        if (task := self._tasks.get(uri)) is not None and not task.done():
            task.cancel()

    async def _run(self, uri: str, delay: float, cancel: threading.Event) -> None:
        if delay:
            await asyncio.sleep(delay)
        server = self.server
        document = server.workspace.text_documents.get(uri)
        memory = server.memory
        if document is None or memory is None:
            return
        version, text = document.version, document.source
        fixes: tuple[LocatedFix, ...] = ()
        if len(text) > MAX_ANALYZED_CHARS:
            server.report_once(
                f"too-large:{uri}",
                f"{uri}: {len(text):,} characters, over the {MAX_ANALYZED_CHARS:,} analysed; "
                "no learned fixes are looked for in it",
            )
        else:
            language = document_language(uri, document.language_id)
            settings, codec = server.settings, server.workspace.position_codec
            path = unquote(urlparse(uri).path)

            # While our indexer writes, it refreshes the analyses on its own schedule.
            follow_store = server.indexer.memory_in_use is None

            def analyse() -> tuple[LocatedFix, ...]:
                found = self.finder.find(
                    memory,
                    settings,
                    text,
                    language=language,
                    cancel=cancel,
                    path=path,
                    follow_store=follow_store,
                )
                return locate(found, text, codec)

            self._started()
            try:
                fixes = await asyncio.get_running_loop().run_in_executor(self._executor, analyse)
            except Cancelled:
                return
            finally:
                self._finished()
        current = server.workspace.text_documents.get(uri)
        if cancel.is_set() or current is None or current.version != version:
            return
        result = DocumentResult(uri, version, fixes)
        self._results[uri] = result
        publish_diagnostics(server, result)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("document analysis failed", exc_info=error)
