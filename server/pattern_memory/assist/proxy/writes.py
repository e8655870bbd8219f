"""Conversation-state writes off the request's path, never lost and never out of order.

A request records which patterns went into its turn (ConversationStore.start_turn) and,
once the answer is forged, which came out of it (add_forged). Neither has to happen before
the request goes upstream: they run on one worker thread, in the order they were asked for,
so a turn's forged patterns always land after its start (which would delete them). The
next request of the same conversation waits for that conversation's pending write before
it reads the previous turn (normally long done: the user has read an answer in between).
Closing waits for every pending write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

log = logging.getLogger(__name__)

# How long a request waits for its conversation's previous write before reading anyway
# (a write stuck behind another process's lock must not hold the user's request).
WAIT_SECONDS = 2.0


class ConversationWrites:
    def __init__(self, on_error: Callable[[], None]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pm-conversations")
        self._latest: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._on_error = on_error

    def submit(self, conversation: str, write: Callable[..., None], *args: Any) -> Future[None]:
        """Run `write(*args)` after every write submitted before it; failures are logged."""
        with self._lock:
            future = self._executor.submit(self._run, write, *args)
            self._latest[conversation] = future
        future.add_done_callback(lambda done: self._forget(conversation, done))
        return future

    def wait_for(self, conversation: str, timeout: float = WAIT_SECONDS) -> None:
        """Block until the conversation's pending write is done (at most `timeout`)."""
        with self._lock:
            future = self._latest.get(conversation)
        if future is None:
            return
        try:
            future.result(timeout)
        except FutureTimeout:
            log.warning("a conversation write is late: reading the previous turn without it")

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _run(self, write: Callable[..., None], *args: Any) -> None:
        try:
            write(*args)
        except Exception:
            log.exception("recording the conversation's patterns failed")
            self._on_error()

    def _forget(self, conversation: str, done: Future[None]) -> None:
        with self._lock:
            if self._latest.get(conversation) is done:
                del self._latest[conversation]
