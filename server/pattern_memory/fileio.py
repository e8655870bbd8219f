"""Atomic file writes: write to a temporary file beside the target, fsync, then rename, so
that an interrupted or failed write never leaves a half-written file behind. Outputs that
are not regular files (devices, FIFOs, /dev/stdout) are written directly instead."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import InputError
from .libc import libc_function
from .signals import hold_interrupts


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# Paths that name an already-open descriptor of this process (`/dev/stdout`, `/dev/fd/3`):
# they are written through, never replaced (a rename would not reach the descriptor).
_DESCRIPTOR_DIRS = ("/dev/fd", "/proc/self/fd")
_DESCRIPTOR_NAMES = ("/dev/stdout", "/dev/stderr")


def _is_descriptor_path(path: Path) -> bool:
    text = os.path.abspath(path)
    return text in _DESCRIPTOR_NAMES or os.path.dirname(text) in _DESCRIPTOR_DIRS


def output_target(path: Path) -> tuple[Path, bool]:
    """Where a write to `path` goes, and whether it may be an atomic replace.

    A symlink is followed (the file it points to is replaced; the link stays a link). A
    regular file, or a name that does not exist yet, is replaced atomically. Anything else
    that exists (a device such as /dev/null or /dev/full, a FIFO, /dev/stdout) is written
    directly: replacing it would swap it for a regular file. A directory is refused."""
    path = Path(path)
    if _is_descriptor_path(path):
        return path, False
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target, True
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"cannot write {path}: it is a directory")
    return target, stat.S_ISREG(mode)


@contextlib.contextmanager
def _direct_writer(path: Path, shown: Path) -> Iterator[IO[bytes]]:
    """Write straight into a device, FIFO or open descriptor; any write error (ENOSPC on
    /dev/full, EPIPE from a FIFO whose reader left) is an InputError."""
    try:
        stream = open(path, "wb")  # noqa: SIM115 - closed below, its errors reported
    except OSError as exc:
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        yield stream
        stream.flush()
    except OSError as exc:
        with contextlib.suppress(OSError):
            stream.close()
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        raise
    try:
        stream.close()
    except OSError as exc:
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary stream; on clean exit the data replaces `path` in one rename (see
    output_target for what is written directly instead)."""
    shown = Path(path)
    path, atomic = output_target(shown)
    if not atomic:
        with _direct_writer(path, shown) as stream:
            yield stream
        return
    directory = path.parent if str(path.parent) else Path(".")
    # Interrupts are held back from creating the temporary file until inside the `try` that
    # removes it, so that Ctrl-C or SIGTERM at any moment leaves no stray file.
    release_interrupts = hold_interrupts()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        release_interrupts()
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        release_interrupts()
        # mkstemp makes the file owner-only; give it the mode a plain open() would have
        # (the existing file's, else the umask's), so outputs stay shareable.
        os.fchmod(fd, _target_mode(path))
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# sync_file_range(2)'s SYNC_FILE_RANGE_WRITE: start writing the range back without waiting for
# it to reach the disk (the call itself may wait while the device's queue is full).
_SYNC_FILE_RANGE_WRITE = 2


_sync_file_range = libc_function(
    "sync_file_range", [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
)


class Writeback:
    """Starts the kernel writing a large output to disk while the rest is still being
    produced, so that the final fsync waits for the last part only. Linux only (elsewhere,
    and on any error, it does nothing: the fsync still makes the file durable)."""

    def __init__(self, fd: int, every: int = 16 << 20) -> None:
        self._fd = fd
        self._every = every
        self._start = self._end = -1

    def written(self, offset: int, size: int) -> None:
        """Call after writing `size` bytes at `offset` (written to the file, not buffered);
        writeback starts once `every` contiguous bytes have accumulated."""
        if _sync_file_range is None:
            return
        if offset != self._end:  # not a continuation: a new run starts here
            self._start = offset
        self._end = offset + size
        length = self._end - self._start
        if length >= self._every:
            _sync_file_range(self._fd, self._start, length, _SYNC_FILE_RANGE_WRITE)
            self._start = self._end


@contextlib.contextmanager
def atomic_text_writer(path: Path) -> Iterator[IO[str]]:
    """Text (UTF-8, "\n" line endings) version of atomic_writer."""
    with atomic_writer(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n", write_through=True)
        try:
            yield text
            text.flush()
        finally:
            text.detach()
