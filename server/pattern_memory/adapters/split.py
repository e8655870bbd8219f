"""Run the second half of a merge in a forked process, when that is safe and worth it.

NumPy releases the GIL inside each operation, but a merge is thousands of short operations
per module, and two threads spent most of their time handing the GIL back and forth: on our
2-core machines a second merge thread gained nothing for `linear` (measured, see
docs/benchmarks.md), while a second process made it 25% faster. The two processes write
disjoint ranges of the same staged file with pwrite (the layout is known before any data
is read), so nothing but a few numbers travels back.

Forking is only done where it is safe: Linux, a process with no other Python thread (a
child of a multi-threaded process can inherit a lock some other thread held; the language
server and the team server therefore merge in one process), at least two usable cores, and
enough work to pay for the fork (a few milliseconds).

The child never returns into the caller's code: whatever happens it reports on a pipe and
leaves with os._exit, so it cannot run the parent's cleanup (which would remove the staged
file). The parent reaps it in every case, and kills it first if the parent itself fails or
is interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from ..errors import AdapterError
from ..libc import libc_function

Item = TypeVar("Item")
# Below this much output a merge takes a few tens of milliseconds: not worth a process.
MIN_FORK_BYTES = 32 << 20

# work(part, threads, check): check() between items raises the other process's error as soon
# as it has one (the parent stops early instead of finishing a half that cannot be used).
Check = Callable[[], None]
Work = Callable[[Sequence[Item], int, Check], list[float]]
_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
_PR_SET_PDEATHSIG = 1  # from linux/prctl.h


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and usable_cores() >= 2
    )


def run_halves(work: Work[Item], items: Sequence[Item], sizes: Sequence[int]) -> list[list[float]]:
    """work(part, threads, check) for the whole of `items`, or for its first half here and
    its second half (by `sizes`) in a forked child at the same time; returns each part's
    numbers in order. The child's AdapterError or OSError is raised here as such."""
    cores = usable_cores()
    if len(items) < 2 or sum(sizes) < MIN_FORK_BYTES or not can_fork():
        return [work(items, cores, _no_check)]
    middle = _halfway(sizes)
    first, second = items[:middle], items[middle:]
    threads = max(1, cores // 2)
    # Ctrl-C and SIGTERM wait (blocked: one thread, so the thread's mask is the process's)
    # until each process is inside the code that handles them: the child must never unwind
    # into the caller's cleanup, and the parent must never lose track of the child.
    signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        read_end, write_end = os.pipe()
        try:
            pid = _fork()
        except OSError:  # out of processes or memory: merge in this process instead
            os.close(read_end)
            os.close(write_end)
            pid = -1
        if pid == 0:
            _child(work, second, threads, read_end, write_end)  # never returns
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
        raise
    if pid < 0:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
        return [work(items, cores, _no_check)]
    child = _Child(pid, read_end)
    try:
        os.close(write_end)
        child.pidfd = _pidfd(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
        mine = work(first, threads, child.check)
        child.wait()
    finally:
        child.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
    return [mine, child.numbers()]


def _no_check() -> None:
    pass


class _Child:
    """The parent's view of the forked process: its report, read once, and its reaping."""

    def __init__(self, pid: int, read_end: int) -> None:
        self.pid = pid
        self.read_end = read_end
        self.pidfd: int | None = None
        self.report = b""
        self.status = 0
        self.reaped = False

    def check(self) -> None:
        """Raise the child's error now if it has already failed (a finished child's numbers
        are kept for the end)."""
        if not self.reaped and select.select([self.read_end], [], [], 0)[0]:
            self.wait()
            self.numbers()

    def wait(self) -> None:
        if not self.reaped:
            self.report = _read_all(self.read_end)
            _, self.status = os.waitpid(self.pid, 0)
            self.reaped = True

    def numbers(self) -> list[float]:
        return _child_numbers(self.report, self.status)

    def close(self) -> None:
        os.close(self.read_end)
        if not self.reaped:  # we failed or were interrupted: the child's half is of no use
            _kill(self.pid, self.pidfd)
        if self.pidfd is not None:
            os.close(self.pidfd)


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with several OS threads. can_fork()
        # made sure no other Python thread runs; the OS threads left are the BLAS library's
        # idle workers, which OpenBLAS takes care of at fork (pthread_atfork).
        warnings.filterwarnings(
            "ignore", message=".*multi-threaded.*fork", category=DeprecationWarning
        )
        return os.fork()


def _halfway(sizes: Sequence[int]) -> int:
    total, running = sum(sizes), 0
    for index, size in enumerate(sizes):
        running += size
        if 2 * running >= total:
            return max(1, min(index + 1, len(sizes) - 1))
    return len(sizes) - 1


def _child(
    work: Work[Item], part: Sequence[Item], threads: int, read_end: int, write_end: int
) -> NoReturn:
    """The forked process: merge `part`, report on the pipe, leave with os._exit whatever
    happens (interrupts are blocked on entry)."""
    code = 1
    report: dict[str, Any] = {"kind": "error", "message": "the merge's second process failed"}
    try:
        os.close(read_end)
        _die_with_parent()
        # Ctrl-C reaches both processes; the parent cleans up, the child just stops. A
        # signal the parent ignores (a background job's SIGINT, nohup) stays ignored.
        for number in _INTERRUPTS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
        report = {"kind": "ok", "numbers": work(part, threads, _no_check)}
        code = 0
    except AdapterError as exc:
        report = {"kind": "adapter", "message": str(exc)}
    except OSError as exc:
        report = {"kind": "os", "errno": exc.errno or 0, "message": exc.strerror or str(exc)}
    except MemoryError:
        report = {"kind": "adapter", "message": "the merge's second process ran out of memory"}
    except BaseException as exc:
        report = {"kind": "error", "message": f"the merge's second process failed: {exc!r}"}
    finally:
        try:
            data = json.dumps(report).encode("utf-8")
            while data:
                data = data[os.write(write_end, data) :]
        finally:
            os._exit(code)


def _die_with_parent() -> None:
    """SIGKILL this process when the parent dies (a SIGKILLed parent cannot stop us)."""
    parent = os.getppid()
    prctl = libc_function("prctl", [ctypes.c_int] + [ctypes.c_ulong] * 4)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _pidfd(pid: int) -> int | None:
    """A descriptor for the child (Linux 5.3+): killing through it can never hit another
    process that reused the pid after the child was reaped."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _kill(pid: int, pidfd: int | None) -> None:
    with contextlib.suppress(ProcessLookupError):
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):  # an interrupt right after we reaped it
        os.waitpid(pid, 0)


def _child_numbers(raw: bytes, status: int) -> list[float]:
    try:
        report = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        report = None
    if not isinstance(report, dict):
        if os.WIFSIGNALED(status):
            raise AdapterError(
                f"the merge's second process was killed by signal {os.WTERMSIG(status)}"
            )
        raise AdapterError("the merge's second process ended without a report")
    kind = report.get("kind")
    if kind == "ok":
        return [float(n) for n in report["numbers"]]
    if kind == "adapter":
        raise AdapterError(str(report["message"]))
    if kind == "os":
        raise OSError(int(report["errno"]), str(report["message"]))
    raise AdapterError(str(report.get("message")))
