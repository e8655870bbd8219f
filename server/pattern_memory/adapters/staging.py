"""A merge's output is written into a staging folder beside it and put in place at the end,
so that nothing the user had is touched until everything (weights, config, the version
record) has succeeded.

The weights and their adapter_config.json must stay a pair: new weights read with the old
config's r / lora_alpha would be scaled wrongly. Both are written completely (and fsynced)
before either is moved; then the config is renamed into place and the weights last. The
weights' rename is the commit: if it fails, the previous config is put back, so a failure
leaves the old pair and success the new one. Only a crash of the machine or a SIGKILL
between the two renames (microseconds apart) can leave the new config beside the old weights.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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
    try:
        parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{weights_path.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise AdapterError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        yield StagedFiles(weights_path, config_path, stale_config, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
