"""Signals as exceptions, so that interrupted work unwinds through its `finally` blocks (the
atomic writers remove their temporary files) whether it was stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt like Ctrl-C (main thread only:
    Python runs signal handlers there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def hold_interrupts() -> Callable[[], None]:
    """Hold SIGINT and SIGTERM back (recorded, not acted on) for the steps between creating a
    resource and entering the `try` that cleans it up; returns `release`, to call inside that
    `try`, which restores the handlers and re-raises a held signal there.

    Handlers are swapped rather than the thread's signal mask, because a process-directed
    signal reaches any thread that does not block it, and Python runs handlers in the main
    thread regardless. Off the main thread no handler can interrupt, so nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    held: list[int] = []

    def record(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {number: signal.signal(number, record) for number in INTERRUPTS}

    def release() -> None:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])

    return release
