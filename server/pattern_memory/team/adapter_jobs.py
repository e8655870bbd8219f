"""Adapter work the team server hands to threads and to its merge worker process.

Each team's adapters live in one registry folder (adapters.versions.Registry, the seed's
`adapters/versions/` layout) under the storage directory: `<storage>/<team_id>/`. Uploads
and merges are both registry versions, so activation and rollback are the registry's.
A merge runs in a worker process (`run_merge` is picklable and takes only plain values):
it is CPU-bound for seconds to minutes and must not hold the event loop or the GIL.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..adapters.fuse import MergeRequest, merge_adapters
from ..adapters.merge import Method
from ..adapters.peft_format import CONFIG_NAME, WEIGHTS_NAME, load_adapter
from ..adapters.versions import Registry, VersionRecord, check_version_name, utc_now
from ..errors import AdapterError


def registry_for(storage: Path, team_id: str) -> Registry:
    return Registry(storage / team_id)


def relative_path(storage: Path, record: VersionRecord) -> str:
    """adapter_path as the API shows it: relative to the storage directory."""
    try:
        return str(Path(record.adapter_path).resolve().relative_to(storage.resolve()))
    except ValueError:
        return Path(record.adapter_path).name


def fresh_name(kind: str) -> str:
    return f"{kind}-{utc_now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def incoming_dir(storage: Path, team_id: str) -> Path:
    """A private folder for one upload's files (removed by record_upload)."""
    root = storage / team_id / "incoming"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root))


def record_upload(
    storage: Path, team_id: str, folder: Path, version_name: str | None, created_by: str
) -> VersionRecord:
    """Validate an uploaded adapter (a bare .safetensors, or a PEFT folder's two files) and
    store it as a version (not activated)."""
    try:
        name = version_name or fresh_name("upload")
        check_version_name(name)
        registry = registry_for(storage, team_id)
        registry.check_new_name(name)
        weights = folder / WEIGHTS_NAME
        config = folder / CONFIG_NAME
        load_adapter(folder)  # headers, pairs, shapes and config: refuses a bad file
        return registry.record(
            weights_path=weights,
            config_path=config if config.is_file() else None,
            inputs=[],
            method="upload",
            weights=[],
            version_name=name,
            created_by=created_by,
            activate=False,
            identities=[],
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class MergeJob:
    storage: str
    team_id: str
    inputs: list[str]  # version names in the team's registry
    method: str
    weights: list[float]
    rank: int | None
    version_name: str | None
    created_by: str


def run_merge(job: MergeJob) -> VersionRecord:
    """In the worker process: merge the versions' files and record the result (inactive)."""
    storage = Path(job.storage)
    registry = registry_for(storage, job.team_id)
    name = job.version_name or fresh_name("merge")
    registry.check_new_name(name)
    paths = [registry.weights_path(n) for n in job.inputs]
    for path in paths:
        if not path.is_file():
            raise AdapterError(f"version {path.stem!r} has no weights file")
    work = Path(tempfile.mkdtemp(dir=storage / job.team_id))
    try:
        result = merge_adapters(
            MergeRequest(
                inputs=paths,
                output=work / "merged.safetensors",
                method=Method(job.method),
                weights=job.weights,
                rank=job.rank,
            )
        )
        return registry.record(
            weights_path=result.weights_path,
            config_path=result.config_path,
            inputs=paths,
            method=job.method,
            weights=result.weights,
            ranks=result.ranks,
            svd_relative_error=result.svd_relative_error,
            version_name=name,
            created_by=job.created_by,
            activate=False,
            identities=result.input_identities,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def activate(storage: Path, team_id: str, name: str) -> VersionRecord:
    return registry_for(storage, team_id).activate(name)


def rollback(storage: Path, team_id: str, name: str | None) -> tuple[VersionRecord, str | None]:
    """Roll back; returns the version now active (and its name, as the registry says)."""
    registry = registry_for(storage, team_id)
    record = registry.rollback(name)
    return record, registry.active()
