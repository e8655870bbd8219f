"""The connection to the pattern database: one apsw connection per thread and per process,
WAL journal, a busy timeout, and `atomic()` write transactions that take the write lock up
front (BEGIN IMMEDIATE) so that two processes never deadlock upgrading a read lock.

apsw is used instead of the standard library's sqlite3 because many Pythons build the latter
without extension loading, which sqlite-vec needs. When the extension cannot load the
database still works; the vector index then lives in plain blob tables (see vectors.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw

from ..errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Set to "1" to behave as if sqlite-vec could not load (tests, benchmarks, debugging).
DISABLE_VEC_ENV = "PATTERN_MEMORY_DISABLE_SQLITE_VEC"

# Whether this process has said that sqlite-vec is missing (said once, not per connection).
_vec_warning = {"logged": False}


def _load_sqlite_vec(connection: apsw.Connection) -> str | None:
    """Load sqlite-vec; returns its version, or None (logged once per process) if it can't."""
    reason: str
    if os.environ.get(DISABLE_VEC_ENV) == "1":
        reason = f"disabled by {DISABLE_VEC_ENV}=1"
    else:
        try:
            import sqlite_vec

            connection.enable_load_extension(True)
            connection.load_extension(sqlite_vec.loadable_path())
            connection.enable_load_extension(False)
            version = connection.execute("SELECT vec_version()").fetchall()[0][0]
            return str(version)
        except (ImportError, apsw.Error, AttributeError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
    if not _vec_warning["logged"]:
        _vec_warning["logged"] = True
        log.warning(
            "sqlite-vec is not available (%s); using the NumPy cosine search instead "
            "(same results, vectors kept in plain tables)",
            reason,
        )
    return None


def row_values(values: Any) -> tuple[Any, ...]:
    """A result row with its values untyped (apsw's own typing is a union of SQL types)."""
    return tuple(values)


def bump_counter(c: apsw.Connection, key: str, by: int = 1) -> int:
    """Add `by` to an integer in the meta table (inside the caller's transaction)."""
    rows = c.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
        "value = CAST(value AS INTEGER) + ? RETURNING value",
        (key, str(by), by),
    ).fetchall()
    return int(row_values(rows[0])[0])


def _in_transaction(connection: apsw.Connection) -> bool:
    return bool(connection.in_transaction)


class Database:
    """Owns the per-thread connections to one database file.

    A connection is opened lazily in each thread that needs one and is never used across a
    fork: a child process that inherits this object opens its own."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[apsw.Connection] = []
        self._pid = os.getpid()
        self.vec_version: str | None = None
        self._vec_checked = False
        # Set by `reindex` while it rebuilds: a failure then is not advised to reindex again.
        self.rebuilding = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the pattern database {self.path}: "
                f"{exc.strerror or exc}"
            ) from None

    @property
    def vec_available(self) -> bool:
        self.connection()  # the first connection decides
        return self.vec_version is not None

    def connection(self) -> apsw.Connection:
        if os.getpid() != self._pid:
            # Forked: the parent's connections must not be touched (not even closed) here.
            self._local = threading.local()
            self._all = []
            self._pid = os.getpid()
        existing: apsw.Connection | None = getattr(self._local, "connection", None)
        if existing is not None:
            return existing
        connection = self._open()
        self._local.connection = connection
        with self._lock:
            self._all.append(connection)
        return connection

    def _open(self) -> apsw.Connection:
        try:
            connection = apsw.Connection(str(self.path))
            connection.set_busy_timeout(BUSY_TIMEOUT_MS)
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot use write-ahead logging (got {mode})")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
        except apsw.Error as exc:
            raise self.failure(exc, f"cannot open the pattern database {self.path}") from None
        version = _load_sqlite_vec(connection)
        with self._lock:
            if not self._vec_checked:
                self.vec_version = version
                self._vec_checked = True
            elif (version is None) != (self.vec_version is None):
                # Every connection must agree, else vectors would go to two different places.
                self.vec_version = None
        return connection

    @contextlib.contextmanager
    def atomic(self, *, wait: bool = True) -> Iterator[apsw.Connection]:
        """A write transaction (BEGIN IMMEDIATE); nested calls join the outer one.
        wait=False: fail at once (StoreError) when another connection is writing, for
        best-effort writes that must never hold up a read-only command."""
        connection = self.connection()
        if connection.in_transaction:
            yield connection
            return
        try:
            if not wait:
                connection.set_busy_timeout(0)
            try:
                connection.execute("BEGIN IMMEDIATE")
            finally:
                if not wait:
                    connection.set_busy_timeout(BUSY_TIMEOUT_MS)
        except apsw.BusyError:
            raise StoreError(
                f"the pattern database {self.path} stayed locked by another process for "
                f"{BUSY_TIMEOUT_MS // 1000 if wait else 0} s; try again"
            ) from None
        try:
            yield connection
        except BaseException as exc:
            if _in_transaction(connection):  # SQLite may already have rolled back
                connection.execute("ROLLBACK")
            if isinstance(exc, apsw.Error):
                raise self.damaged(exc) from None
            raise
        try:
            connection.execute("COMMIT")
        except apsw.Error as exc:
            raise self.damaged(exc) from None

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self.connection().execute(sql, params))
        except apsw.Error as exc:
            raise self.damaged(exc) from None

    def damaged(self, exc: apsw.Error) -> StoreError:
        """The one-line error for a failure inside SQLite (the store's boundary: no apsw
        exception reaches the callers)."""
        return self.failure(exc, f"the pattern database {self.path} cannot be read or written")

    def failure(self, exc: apsw.Error, what: str) -> StoreError:
        """`what` failed because of `exc`: the error with advice that fits the cause. A
        read-only file or folder is not damage; damage to the file itself is not something
        `reindex` (which rebuilds the vector index and code shapes) can repair."""
        path = self.path
        if isinstance(exc, apsw.BusyError):
            return StoreError(f"the pattern database {path} is locked by another process")
        if isinstance(exc, apsw.ReadOnlyError) or (
            isinstance(exc, apsw.CantOpenError | apsw.PermissionsError) and not self._writable()
        ):
            return StoreError(
                f"{what}: it is read-only ({exc}); it is not damaged. SQLite needs to write "
                f"the file and to create {path.name}-wal and {path.name}-shm beside it: make "
                "both writable, or copy the file somewhere writable and use --db COPY"
            )
        if isinstance(exc, apsw.FullError):
            return StoreError(f"{what}: the disk is full ({exc}); free some space, then retry")
        if isinstance(exc, apsw.CorruptError | apsw.NotADBError) or self.rebuilding:
            return StoreError(
                f"{what} ({exc}): the file itself is damaged, which `reindex` cannot repair. "
                f"Move it aside, save what it still holds with `pattern-memory export --db "
                f"MOVED saved.jsonl`, then build a new database with `pattern-memory import "
                f"saved.jsonl` and/or `pattern-memory index REPO` (re-learns from git)"
            )
        return StoreError(
            f"{what} ({exc}); its vector index or code shapes may be damaged: run "
            "`pattern-memory reindex` (rebuilds them from the patterns table), or restore "
            "it from a backup"
        )

    def _writable(self) -> bool:
        """Whether this process may write the file and create files beside it (tried, not
        guessed from mode bits: root, read-only mounts and chattr +i defy those). Only called
        on a failure's path."""
        try:
            os.close(os.open(self.path, os.O_WRONLY))  # opened, nothing written
        except FileNotFoundError:
            pass
        except OSError:
            return False
        try:
            with tempfile.TemporaryFile(dir=self.path.parent if str(self.path.parent) else "."):
                pass
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Close every connection this process opened (call once no thread uses them)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            connections, self._all = self._all, []
        self._local = threading.local()
        for connection in connections:
            try:
                connection.close()
            except apsw.Error as exc:  # closing must not stop the others from closing
                log.debug("closing %s: %s", self.path, exc)
