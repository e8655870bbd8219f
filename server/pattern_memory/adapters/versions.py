"""The local registry of merged adapter versions, and which one is active.

Layout of a registry folder (by default `adapters/` beside the merge's output, or the folder
itself when the output is a registry's `merged.safetensors`), as the seed shows it:

    adapters/
      versions/<name>.safetensors               the version's own copy of the merged adapter
      versions/<name>.adapter_config.json       its PEFT config, when the inputs had one
      versions/<name>.json                      the record (the seed's fields and more)
      merged.safetensors                        a copy of the active version
      merged.adapter_config.json                ... and of its config
      active.json                               {"active": name, "history": [older names]}

Versions own real copies (never links), so that nothing done to a merge's output, or the
seed's `cp adapters/versions/v2.0.safetensors adapters/merged.safetensors`, can change a
stored version. Every file is replaced atomically and the record is written last, so a crash
never leaves a half version; every change holds an exclusive lock on the registry (several
processes, e.g. the team server and a terminal, may share it).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import getpass
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AdapterError
from ..fileio import atomic_text_writer, atomic_writer
from .peft_format import CONFIG_NAME, config_path_for, resolve_input

VERSIONS_DIR = "versions"
ACTIVE_FILE = "active.json"
MERGED_NAME = "merged.safetensors"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CONFIG_SUFFIX = "." + CONFIG_NAME.removesuffix(".json")  # "<name>.adapter_config.json"


class VersionNotFoundError(AdapterError):
    """A version name that the registry does not hold."""


@dataclass(frozen=True)
class VersionRecord:
    version_name: str
    adapter_path: str  # the version's own weights file, inside the registry
    created_by: str
    created_at: str  # UTC, "2024-03-15T10:30:00Z"
    parent_versions: list[str]
    method: str
    weights: list[float]
    inputs: list[str]
    input_checksums: dict[str, str]  # input -> sha256 of its weights file
    adapter_checksum: str  # sha256 of this version's weights file
    output_path: str = ""  # where the merge wrote it for the user
    rank: list[int] = field(default_factory=list)
    svd_relative_error: float | None = None
    # input -> sha256 of its adapter_config.json (inputs that had one)
    input_config_checksums: dict[str, str] = field(default_factory=dict)
    config_checksum: str | None = None  # sha256 of this version's adapter_config.json

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VersionRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class InputIdentity:
    """What an input is: its weights file and its config (same weights with another
    lora_alpha are a different adapter)."""

    weights_sha256: str
    config_sha256: str | None

    @classmethod
    def of(cls, path: Path) -> InputIdentity:
        weights, config = resolve_input(Path(path))
        return cls(sha256_file(weights), sha256_file(config) if config else None)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_created_by() -> str:
    """`git config user.email`, else the login name."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        email = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
        if email:
            return email
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def check_version_name(name: str) -> None:
    if not _VERSION_NAME.match(name) or name.endswith(_CONFIG_SUFFIX):
        raise AdapterError(
            f"invalid version name {name!r}: use letters, digits, '.', '_', '-' "
            "(at most 100 characters, starting with a letter or digit)"
        )


def is_registry_output(output: Path) -> bool:
    """Whether `output` is a registry's active copy, `<dir>/merged.safetensors` where <dir>
    is (or, being named `adapters`, will be) a registry: the seed's layout."""
    folder = output.parent
    return output.name == MERGED_NAME and (
        (folder / VERSIONS_DIR).is_dir()
        or (folder / ACTIVE_FILE).exists()
        or folder.resolve().name == "adapters"
    )


class Registry:
    @classmethod
    def for_output(cls, output: Path, registry: Path | None = None) -> Registry:
        """The registry a merge into `output` records into: `registry` if given, the folder
        itself when the output is a registry's merged.safetensors, else `adapters/` beside."""
        if registry is not None:
            return cls(registry)
        if is_registry_output(output):
            return cls(output.parent)
        return cls(output.resolve().parent / "adapters")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / VERSIONS_DIR
        self.merged_path = self.root / MERGED_NAME

    def owns(self, output: Path) -> bool:
        """Whether `output` is this registry's active copy (only activation may write it)."""
        return output.suffix == ".safetensors" and (output.resolve() == self.merged_path.resolve())

    def check_new_name(self, name: str | None) -> None:
        """Before a merge: `name` is a valid name not yet taken (checked again when
        recording, under the lock)."""
        if name is None:
            return
        check_version_name(name)
        if self._record_path(name).exists():
            raise AdapterError(f"version {name!r} already exists in {self.versions_dir}")

    def weights_path(self, name: str) -> Path:
        return self.versions_dir / f"{name}.safetensors"

    def config_path(self, name: str) -> Path:
        return config_path_for(self.weights_path(name))

    def _record_path(self, name: str) -> Path:
        return self.versions_dir / f"{name}.json"

    # --- reading -------------------------------------------------------------------------

    def versions(self) -> list[VersionRecord]:
        """All versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        records = [
            self._read_record(path)
            for path in self.versions_dir.glob("*.json")
            if not path.name.endswith(CONFIG_NAME) and not path.name.startswith(".")
        ]
        return sorted(records, key=lambda r: (r.created_at, r.version_name))

    def get(self, name: str) -> VersionRecord:
        path = self._record_path(name)
        if not _VERSION_NAME.match(name) or not path.is_file():
            known = ", ".join(r.version_name for r in self.versions()) or "none yet"
            raise VersionNotFoundError(f"no version {name!r} in {self.versions_dir} ({known})")
        return self._read_record(path)

    def active(self) -> str | None:
        return self._read_state()[0]

    def history(self) -> list[str]:
        return self._read_state()[1]

    def _read_record(self, path: Path) -> VersionRecord:
        try:
            return VersionRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise AdapterError(f"{path}: unreadable version record ({exc})") from None

    def _read_state(self) -> tuple[str | None, list[str]]:
        path = self.root / ACTIVE_FILE
        if not path.exists():
            return None, []
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            active, history = state.get("active"), state.get("history", [])
            if (active is not None and not isinstance(active, str)) or not all(
                isinstance(h, str) for h in history
            ):
                raise ValueError("unexpected types")
        except (OSError, ValueError, AttributeError) as exc:
            raise AdapterError(f"{path}: unreadable ({exc})") from None
        return active, list(history)

    # --- changing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, create: bool = False) -> Iterator[None]:
        if not create and not self.versions_dir.is_dir():
            raise AdapterError(f"no adapter versions in {self.root} (no {self.versions_dir})")
        try:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / ".lock", "a")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise AdapterError(f"cannot use registry {self.root}: {exc.strerror or exc}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def record(
        self,
        *,
        weights_path: Path,
        config_path: Path | None,
        inputs: Sequence[Path],
        method: str,
        weights: Sequence[float],
        ranks: Sequence[int] = (),
        svd_relative_error: float | None = None,
        version_name: str | None = None,
        created_by: str | None = None,
        activate: bool = True,
        identities: Sequence[InputIdentity] | None = None,
        output_path: Path | None = None,
    ) -> VersionRecord:
        """Store a copy of a merge's output as a new version (active unless told not to).

        `identities`: the inputs' checksums as they were when merged (the merge computes
        them while validating; an in-place merge has replaced an input since), else the
        files are hashed now. `output_path`: where the user asked for the merge, if not
        `weights_path` (e.g. a staged file)."""
        if version_name is not None:
            check_version_name(version_name)
        if identities is None:
            identities = [InputIdentity.of(Path(p)) for p in inputs]
        keys = [str(p) for p in inputs]
        adapter_checksum = sha256_file(weights_path)
        config_checksum = sha256_file(config_path) if config_path is not None else None
        created = utc_now()
        with self._locked(create=True):
            known = {self._identity(r): r.version_name for r in self.versions()}
            parents = [
                known.get(identity, _label(Path(p)))
                for p, identity in zip(inputs, identities, strict=True)
            ]
            name = version_name or self._fresh_name(created)
            if self._record_path(name).exists():
                raise AdapterError(f"version {name!r} already exists in {self.versions_dir}")
            _copy(weights_path, self.weights_path(name))
            if config_path is not None:
                _copy(config_path, self.config_path(name))
            record = VersionRecord(
                version_name=name,
                adapter_path=str(self.weights_path(name).resolve()),
                created_by=created_by or default_created_by(),
                created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                parent_versions=parents,
                method=method,
                weights=list(weights),
                inputs=keys,
                input_checksums={
                    k: i.weights_sha256 for k, i in zip(keys, identities, strict=True)
                },
                adapter_checksum=adapter_checksum,
                output_path=str((output_path or weights_path).resolve()),
                rank=list(ranks),
                svd_relative_error=svd_relative_error,
                input_config_checksums={
                    k: i.config_sha256
                    for k, i in zip(keys, identities, strict=True)
                    if i.config_sha256 is not None
                },
                config_checksum=config_checksum,
            )
            # Written last: a version without its record does not exist.
            with atomic_text_writer(self._record_path(name)) as stream:
                json.dump(asdict(record), stream, indent=2)
                stream.write("\n")
            if activate:
                active, history = self._read_state()
                self._switch(name, _remember(history, active, name))
        return record

    def activate(self, name: str) -> VersionRecord:
        """Make `name` the active version; the one it replaces can be rolled back to."""
        with self._locked():
            record = self.get(name)
            active, history = self._read_state()
            self._switch(name, _remember(history, active, name))
        return record

    def rollback(self, name: str | None = None) -> VersionRecord:
        """Go back to the previously active version, or to `name`, forgetting the versions
        activated after it."""
        with self._locked():
            active, history = self._read_state()
            if name is None:
                if not history:
                    raise AdapterError(
                        f"nothing to roll back to: no version was active before "
                        f"{active or 'now'} in {self.root}"
                    )
                name = history[-1]
            record = self.get(name)
            if name in history:
                history = history[: len(history) - 1 - history[::-1].index(name)]
            else:
                history = _remember(history, active, name)
            self._switch(name, history)
        return record

    def _identity(self, record: VersionRecord) -> InputIdentity:
        config = record.config_checksum
        if config is None and self.config_path(record.version_name).is_file():
            config = sha256_file(self.config_path(record.version_name))  # an older record
        return InputIdentity(record.adapter_checksum, config)

    def _switch(self, name: str, history: list[str]) -> None:
        # The active copy first, then the pointer: active.json never names a version whose
        # files are not in place.
        _copy(self.weights_path(name), self.merged_path)
        merged_config = config_path_for(self.merged_path)
        if self.config_path(name).is_file():
            _copy(self.config_path(name), merged_config)
        else:
            merged_config.unlink(missing_ok=True)
        with atomic_text_writer(self.root / ACTIVE_FILE) as stream:
            json.dump({"active": name, "history": history}, stream, indent=2)
            stream.write("\n")

    def _fresh_name(self, when: datetime.datetime) -> str:
        base = when.strftime("merge-%Y%m%d-%H%M%S")
        name, counter = base, 1
        while self._record_path(name).exists():
            counter += 1
            name = f"{base}-{counter}"
        return name


def _remember(history: list[str], active: str | None, new: str) -> list[str]:
    return [*history, active] if active is not None and active != new else history


def _label(path: Path) -> str:
    """How a plain input is named among a version's parents: its folder or file stem."""
    weights, _ = resolve_input(path)
    return path.name if path.is_dir() else weights.stem


def _copy(source: Path, target: Path) -> None:
    """Atomic copy; in the kernel (copy_file_range) where the system allows it."""
    try:
        with open(source, "rb") as src, atomic_writer(target) as dst:
            dst.flush()
            try:
                while os.copy_file_range(src.fileno(), dst.fileno(), 1 << 30):
                    pass
            except OSError:  # not supported here (e.g. across file systems on old kernels)
                src.seek(0)
                dst.seek(0)
                dst.truncate()
                shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        raise AdapterError(f"cannot copy {source}: {exc.strerror or exc}") from None
