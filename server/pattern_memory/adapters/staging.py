"""A merge's output is written into a staging folder beside it and put in place at the end,
so that nothing the user had is touched until everything (weights, config, the version
record) has succeeded.

The weights and their adapter_config.json must stay a pair: new weights read with the old
config's r / lora_alpha would be scaled wrongly. Both are written completely (and fsynced)
before either is moved; then the config is renamed into place and the weights last. The
weights' rename is the commit: if it fails, the previous config is put back, so a failure
leaves the old pair and success the new one. Only a crash of the machine or a SIGKILL
between the two renames (microseconds apart) can leave the new config beside the old weights.

A merge killed with SIGKILL cannot remove its staging folder (hundreds of MB). Each folder
holds an `owner` file naming the host, pid and the pid's start time (from /proc: a pid can be
reused by a later process, its start time then differs); the next merge into the same
folder removes the staging folders whose owner is provably gone. Folders without that file,
of another user or of another host are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdapterError


@dataclass(frozen=True)
class StagedFiles:
    weights_path: Path  # where the weights go (the user's output)
    config_path: Path | None  # where the config goes; None: the output has no config
    stale_config: Path | None  # a config at the output that must go if there is no new one
    folder: Path  # the staging folder, beside weights_path

    @property
    def staged_weights(self) -> Path:
        return self.folder / "weights.safetensors"

    @property
    def staged_config(self) -> Path | None:
        return self.folder / "adapter_config.json" if self.config_path is not None else None

    def commit(self) -> None:
        """Put the staged pair in place (config first, weights last)."""
        backup = self.folder / "previous_config"
        old_config = self.config_path or self.stale_config
        try:
            _keep_mode(self.staged_weights, self.weights_path)
            had_config = old_config is not None and old_config.is_file()
            if had_config and old_config is not None:
                os.link(old_config, backup)
            if self.config_path is not None and self.staged_config is not None:
                _keep_mode(self.staged_config, self.config_path)
                os.replace(self.staged_config, self.config_path)
            elif had_config and old_config is not None:
                old_config.unlink()
            try:
                os.replace(self.staged_weights, self.weights_path)
            except OSError:
                if had_config and old_config is not None:
                    os.replace(backup, old_config)
                elif self.config_path is not None:
                    self.config_path.unlink(missing_ok=True)
                raise
            _sync_folder(self.weights_path.parent)
        except OSError as exc:
            raise AdapterError(f"cannot write {self.weights_path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def staging(
    weights_path: Path, config_path: Path | None, stale_config: Path | None
) -> Iterator[StagedFiles]:
    """A staging folder `.<name>.XXXX.tmp` beside the output (same file system, so the
    final renames are atomic), removed at the end whatever happens."""
    parent = weights_path.parent
    prefix = f".{weights_path.name}."
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(parent, prefix)
        folder = Path(tempfile.mkdtemp(prefix=prefix, suffix=_SUFFIX, dir=parent))
    except OSError as exc:
        raise AdapterError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        (folder / _OWNER_FILE).write_text(_owner_record(os.getpid()) or "", encoding="ascii")
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise AdapterError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        yield StagedFiles(weights_path, config_path, stale_config, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_SUFFIX = ".tmp"
_OWNER_FILE = "owner"
_OWNER_MAGIC = "pattern-memory-staging"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat),
    or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _owner_record(pid: int) -> str | None:
    started = _start_time(pid)
    if started is None:
        return None
    return f"{_OWNER_MAGIC} {socket.gethostname()} {pid} {started}\n"


def _owner_is_gone(record: str) -> bool:
    parts = record.split()
    if len(parts) != 4 or parts[0] != _OWNER_MAGIC or not parts[2].isdigit():
        return False  # not a record of ours: not provably stale
    _, host, pid, started = parts
    if host != socket.gethostname():
        return False  # a process on another machine sharing the folder: cannot tell
    return _start_time(int(pid)) != started  # dead, or the pid now names another process


def remove_stale_staging(parent: Path, prefix: str) -> list[Path]:
    """Remove the staging folders `<prefix>*.tmp` in `parent` left by merges that died;
    the folders removed."""
    removed: list[Path] = []
    try:
        candidates = [
            entry
            for entry in os.scandir(parent)
            if entry.name.startswith(prefix) and entry.name.endswith(_SUFFIX)
        ]
    except OSError:
        return removed
    for entry in candidates:
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
            record = (Path(entry.path) / _OWNER_FILE).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            continue
        if _owner_is_gone(record):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _keep_mode(staged: Path, target: Path) -> None:
    # A replaced output keeps its permissions; a new one has the umask's (atomic_writer's).
    with contextlib.suppress(FileNotFoundError):
        os.chmod(staged, target.stat().st_mode & 0o7777)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
