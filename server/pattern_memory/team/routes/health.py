"""/health: the seed's answer; 503 while the database does not answer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import State
from ..models import API_VERSION, Health

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_S = 3.0


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(state: State) -> JSONResponse:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), state.pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception:
        body = Health(status="unhealthy", version=API_VERSION, database="disconnected")
        return JSONResponse(body.model_dump(), status_code=503)
    body = Health(status="healthy", version=API_VERSION, database="connected")
    return JSONResponse(body.model_dump())
