"""/adapters: list versions, upload one, merge several (in a worker process), activate, roll
back. Any member uploads and merges; only admins change which version is active."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from pydantic import ValidationError

from ...adapters.fuse import resolve_weights
from ...adapters.peft_format import CONFIG_NAME, WEIGHTS_NAME
from .. import adapter_jobs, adapter_store
from ..deps import Caller, Conn, State, require_admin
from ..models import (
    AdapterList,
    AdapterMergeIn,
    AdapterVersionOut,
    ErrorOut,
    RollbackIn,
)

router = APIRouter(prefix="/adapters", tags=["adapters"])
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
_ADMIN_ERRORS: dict[int | str, dict[str, object]] = {**_ERRORS, 403: {"model": ErrorOut}}
MAX_UPLOAD_FILES = 2  # a PEFT folder: the weights and their config


@router.get("", response_model=AdapterList, responses=_ERRORS)
async def list_adapters(who: Caller, conn: Conn) -> AdapterList:
    return await adapter_store.list_versions(conn, who.team_id)


def _target_name(upload: UploadFile) -> str:
    """Where an uploaded file goes in the version's folder: by its kind, never by the
    client's path."""
    name = (upload.filename or "").lower()
    if name.endswith(".safetensors"):
        return WEIGHTS_NAME
    if name.endswith(".json"):
        return CONFIG_NAME
    raise HTTPException(422, "upload a .safetensors file and, optionally, its adapter_config.json")


def _save(upload: UploadFile, target: Path) -> None:
    with open(target, "wb") as stream:
        shutil.copyfileobj(upload.file, stream, 1 << 20)


@router.post(
    "",
    response_model=AdapterVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 413: {"model": ErrorOut}},
)
async def upload_adapter(
    *,
    who: Caller,
    conn: Conn,
    state: State,
    file: Annotated[UploadFile | None, File(description="a .safetensors adapter")] = None,
    files: Annotated[list[UploadFile] | None, File(description="a PEFT folder's two files")] = None,
    version_name: Annotated[str | None, Form(max_length=100)] = None,
) -> AdapterVersionOut:
    uploads = [*([file] if file is not None else []), *(files or [])]
    if not uploads or len(uploads) > MAX_UPLOAD_FILES:
        raise HTTPException(422, "upload one .safetensors file, or a PEFT folder's two files")
    targets = [_target_name(u) for u in uploads]
    if len(set(targets)) != len(targets) or WEIGHTS_NAME not in targets:
        raise HTTPException(422, "upload exactly one .safetensors file (and at most one config)")
    storage = state.config.storage_dir
    folder = await asyncio.to_thread(adapter_jobs.incoming_dir, storage, who.team_id)
    for upload, target in zip(uploads, targets, strict=True):
        await asyncio.to_thread(_save, upload, folder / target)
    record = await asyncio.to_thread(
        adapter_jobs.record_upload, storage, who.team_id, folder, version_name, who.user_name
    )
    return await adapter_store.insert_version(
        conn,
        who.team_id,
        record,
        adapter_path=adapter_jobs.relative_path(storage, record),
        kind="upload",
        parents=[],
        weights=None,
    )


@router.post(
    "/merge",
    response_model=AdapterVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_ADMIN_ERRORS,
)
async def merge(body: AdapterMergeIn, who: Caller, conn: Conn, state: State) -> AdapterVersionOut:
    """Fuse versions (weights, success rates -> s_i / sum(s), or equal) in the worker process;
    records the result with its parents; `activate` (admins) makes it active."""
    if body.activate:
        require_admin(who, "activate an adapter version")
    rows = await adapter_store.get_versions(conn, who.team_id, body.inputs)
    weights = resolve_weights(len(rows), body.weights, body.success_rates)
    storage = state.config.storage_dir
    job = adapter_jobs.MergeJob(
        storage=str(storage),
        team_id=who.team_id,
        inputs=[str(r["version_name"]) for r in rows],
        method=body.method,
        weights=weights,
        rank=body.rank,
        version_name=body.version_name,
        created_by=who.user_name,
    )
    assert state.merge_executor is not None
    loop = asyncio.get_running_loop()
    record = await loop.run_in_executor(state.merge_executor, adapter_jobs.run_merge, job)
    version = await adapter_store.insert_version(
        conn,
        who.team_id,
        record,
        adapter_path=adapter_jobs.relative_path(storage, record),
        kind="merge",
        parents=[str(r["id"]) for r in rows],
        weights=list(record.weights),
    )
    if body.activate:
        await asyncio.to_thread(adapter_jobs.activate, storage, who.team_id, record.version_name)
        version = await adapter_store.mark_active(conn, who.team_id, record.version_name)
    return version


@router.post("/{version_id}/activate", response_model=AdapterVersionOut, responses=_ADMIN_ERRORS)
async def activate(version_id: str, who: Caller, conn: Conn, state: State) -> AdapterVersionOut:
    (row,) = await adapter_store.get_versions(conn, who.team_id, [version_id])
    require_admin(who, "activate an adapter version")
    name = str(row["version_name"])
    await asyncio.to_thread(adapter_jobs.activate, state.config.storage_dir, who.team_id, name)
    return await adapter_store.mark_active(conn, who.team_id, name)


_ROLLBACK_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": RollbackIn.model_json_schema()}},
    }
}


@router.post(
    "/rollback",
    response_model=AdapterVersionOut,
    responses=_ADMIN_ERRORS,
    openapi_extra=_ROLLBACK_BODY,
)
async def rollback(request: Request, who: Caller, conn: Conn, state: State) -> AdapterVersionOut:
    """To `version_id`, or to the version active before the current one. The body is read
    whatever its Content-Type (the seed's curl sends none)."""
    raw = await request.body()
    try:
        body = RollbackIn.model_validate(json.loads(raw)) if raw.strip() else RollbackIn()
    except (ValueError, ValidationError):
        raise HTTPException(422, 'expected {"version_id": "<id>"} or an empty body') from None
    require_admin(who, "roll back the active adapter")
    name = None
    if body.version_id is not None:
        (row,) = await adapter_store.get_versions(conn, who.team_id, [body.version_id])
        name = str(row["version_name"])
    _, active = await asyncio.to_thread(
        adapter_jobs.rollback, state.config.storage_dir, who.team_id, name
    )
    return await adapter_store.mark_active(conn, who.team_id, active)
