"""/patterns: list (ranked, or sync pages), search, get, upload, bulk upload, feedback, delete.

Ranked pages are served from the process's page cache when they can be (team/caches.py):
every write here drops its team's pages in this process before it answers, and the
database's notifications drop them in the others. Sync pages, search and single patterns
always read the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Response, status
from numpy.typing import NDArray

from .. import store
from ..deps import AppState, Caller, Conn, Lazy, State
from ..models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BulkIn,
    BulkItemResult,
    BulkResult,
    ErrorOut,
    FeedbackIn,
    FeedbackResult,
    PatternIn,
    PatternList,
    PatternOut,
    PatternWriteResult,
    ProblemTypeName,
)
from ..store import Cursor, Filters

router = APIRouter(prefix="/patterns", tags=["patterns"])

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
# The page number is bounded so that OFFSET cannot be made to scan the whole table.
MAX_PAGE = 10_000
_NO_ID = (
    "ffffffff-ffff-ffff-ffff-ffffffffffff"  # sorts after every id: `updated_since` is exclusive
)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Text = Annotated[str | None, Query(max_length=500)]


def _filters(
    problem_type: ProblemTypeName | None,
    q: str | None,
    language: str | None,
    repository: str | None,
    solution_hash: str | None = None,
) -> Filters:
    return Filters(problem_type, q or None, language, repository, solution_hash)


def _json(body: PatternList | bytes) -> Response:
    content = body if isinstance(body, bytes) else body.model_dump_json().encode()
    return Response(content, media_type="application/json")


@router.get("", response_model=PatternList, responses=_ERRORS)
async def list_patterns(
    *,
    who: Caller,
    lazy: Lazy,
    state: State,
    problem_type: ProblemTypeName | None = None,
    q: Text = None,
    language: Annotated[str | None, Query(max_length=50)] = None,
    repository: Text = None,
    solution_hash: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    page: PageNumber = 1,
    updated_since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Ranked by success_count, then recency; with `updated_since` or `cursor`, the sync
    mode: changes in (updated_at, id) order, continued with `next_cursor`."""
    filters = _filters(problem_type, q, language, repository, solution_hash)
    if cursor is not None or updated_since is not None:
        if cursor is not None:
            after = Cursor.decode(cursor)
        else:
            assert updated_since is not None
            when = updated_since if updated_since.tzinfo else updated_since.astimezone()
            after = Cursor(when, _NO_ID)
        conn = await lazy.get()
        result = await store.sync_page(conn, who.team_id, filters, after=after, limit=limit)
        return _json(
            PatternList(
                patterns=result.patterns,
                total=result.total,
                page=1,
                per_page=limit,
                next_cursor=result.next_cursor,
                has_more=result.has_more,
                deleted=result.deleted,
            )
        )
    cache_key = (filters, limit, page)
    cached = state.pages.get(who.team_id, cache_key)
    if cached is not None:
        return _json(cached)
    ticket = state.pages.ticket(who.team_id)
    conn = await lazy.get()
    result = await store.list_patterns(conn, who.team_id, filters, limit=limit, page=page)
    body = PatternList(
        patterns=result.patterns,
        total=result.total,
        page=page,
        per_page=limit,
        has_more=page * limit < result.total,
    ).model_dump_json()
    content = body.encode()
    state.pages.put(ticket, cache_key, content)
    return _json(content)


@router.get("/search", response_model=PatternList, responses=_ERRORS)
async def search_patterns(
    *,
    who: Caller,
    lazy: Lazy,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=2_000)],
    problem_type: ProblemTypeName | None = None,
    language: Annotated[str | None, Query(max_length=50)] = None,
    repository: Text = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    page: Annotated[int, Query(ge=1, le=10)] = 1,
) -> Response:
    """Semantic search: the query embedded with the local store's model, pgvector cosine."""
    vector = await state.embedder.embed_query(q)
    filters = _filters(problem_type, None, language, repository)
    conn = await lazy.get()
    result = await store.search(conn, who.team_id, filters, vector, limit=limit, page=page)
    return _json(
        PatternList(patterns=result.patterns, total=result.total, page=page, per_page=limit)
    )


@router.get("/{pattern_id}", response_model=PatternOut, responses=_ERRORS)
async def get_pattern(pattern_id: str, who: Caller, conn: Conn) -> PatternOut:
    return await store.get_pattern(conn, who.team_id, pattern_id)


async def _write(
    state: AppState, conn: Conn, who: Caller, uploads: list[PatternIn]
) -> tuple[list[store.CleanPattern], list[BulkItemResult]]:
    items = [store.clean(u) for u in uploads]
    known = await store.existing_hashes(conn, who.team_id, [i.solution_hash for i in items])
    fresh: dict[str, store.CleanPattern] = {}
    for item in items:
        if item.solution_hash not in known:
            fresh.setdefault(item.solution_hash, item)
    vectors: dict[str, NDArray[np.float32]] = {}
    if fresh:
        embedded = await state.embedder.embed([i.embed_text() for i in fresh.values()])
        vectors = dict(zip(fresh, embedded, strict=True))
    results = await store.write_patterns(conn, who, items, vectors)
    state.pages.drop(who.team_id)
    return items, results


@router.post(
    "",
    response_model=PatternWriteResult,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 200: {"model": PatternWriteResult}, 413: {"model": ErrorOut}},
)
async def create_pattern(
    body: PatternIn, who: Caller, conn: Conn, state: State, response: Response
) -> PatternWriteResult:
    """The seed's body or a miner JSONL line; 201 when new, 200 when merged."""
    _, results = await _write(state, conn, who, [body])
    result = results[0]
    if not result.created:
        response.status_code = status.HTTP_200_OK
    pattern = await store.get_pattern(conn, who.team_id, result.id)
    return PatternWriteResult(
        id=result.id, solution_hash=result.solution_hash, created=result.created, pattern=pattern
    )


@router.post(
    "/bulk",
    response_model=BulkResult,
    responses={**_ERRORS, 413: {"model": ErrorOut}},
)
async def create_patterns(body: BulkIn, who: Caller, conn: Conn, state: State) -> BulkResult:
    """Up to MAX_BULK_ITEMS uploads in one transaction, each merged like POST /patterns."""
    _, results = await _write(state, conn, who, body.patterns)
    created = sum(r.created for r in results)
    return BulkResult(results=results, created=created, merged=len(results) - created)


@router.post("/{pattern_id}/feedback", response_model=FeedbackResult, responses=_ERRORS)
async def give_feedback(
    pattern_id: str, body: FeedbackIn, who: Caller, conn: Conn, state: State
) -> FeedbackResult:
    result = await store.give_feedback(conn, who, pattern_id, body.helpful)
    state.pages.drop(who.team_id)
    return result


@router.delete(
    "/{pattern_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**_ERRORS, 403: {"model": ErrorOut}},
)
async def delete_pattern(pattern_id: str, who: Caller, conn: Conn, state: State) -> Response:
    await store.delete_pattern(conn, who, pattern_id)
    state.pages.drop(who.team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
