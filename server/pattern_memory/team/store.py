"""The team's patterns in PostgreSQL: listing, sync pages, semantic search, merged uploads,
feedback and deletion. Every query is scoped by the caller's team; FastAPI is not used here.

Sync-mode reads and all pattern writes take a per-team advisory lock (writers exclusive,
sync readers shared) for the length of their transaction. updated_at is taken after the
lock, so a sync reader never sees a change with an earlier updated_at commit after it read:
a cursor on (updated_at, id) then misses nothing.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..memory.text import lookup_text
from ..mining.scrub import scrub_text
from ..patterns import Pattern, ProblemType, solution_hash
from .keys import Principal
from .models import BulkItemResult, FeedbackResult, PatternIn, PatternOut
from .sql import Connection, Row, fetch_all, fetch_one

_COLUMNS = """p.id, p.problem_type, p.solution_hash, p.code_before, p.code_after, p.commit_msg,
    p.language, p.repository, p.file_path, p.success_count, p.failure_count, p.last_used,
    p.created_by, p.created_at, p.updated_at, p.confidence, p.commit_sha AS commit,
    p.committed_at,
    ARRAY(SELECT c.user_name FROM pattern_contributors c WHERE c.pattern_id = p.id
          ORDER BY c.first_at, c.user_name) AS contributors"""

# hnsw.ef_search: the candidates the HNSW scan keeps; pgvector's default of 40 loses recall
# (docs/benchmarks.md, Team server). The team and the filters apply after the scan.
SEARCH_EF = 100


class NotFoundError(InputError):
    """No such pattern in the caller's team (another team's answers the same)."""


class ForbiddenError(InputError):
    """The caller may not do this to that pattern."""


@dataclass(frozen=True)
class Filters:
    problem_type: str | None = None
    q: str | None = None
    language: str | None = None
    repository: str | None = None
    solution_hash: str | None = None


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.updated_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, _, ident = raw.partition("|")
            return cls(datetime.fromisoformat(when), str(uuid.UUID(ident)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InputError("cursor is not one this server gave out") from None


@dataclass(frozen=True)
class Page:
    patterns: list[PatternOut]
    total: int
    has_more: bool = False
    next_cursor: str | None = None
    deleted: list[str] = field(default_factory=list)  # sync mode: ids deleted in this page


def pattern_out(row: Row) -> PatternOut:
    return PatternOut(**{**row, "id": str(row["id"])})


def parse_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise NotFoundError("no such pattern") from None


def _where(team_id: str, filters: Filters) -> tuple[str, dict[str, object]]:
    clauses = ["p.team_id = %(team)s"]
    params: dict[str, object] = {"team": team_id}
    for column in ("problem_type", "language", "repository", "solution_hash"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"p.{column} = %({column})s")
            params[column] = value
    if filters.q:
        clauses.append("p.search_tsv @@ websearch_to_tsquery('simple', %(q)s)")
        params["q"] = filters.q
    return " AND ".join(clauses), params


async def _team_lock(conn: Connection, team_id: str, *, shared: bool) -> None:
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await conn.execute(f"SELECT {function}(hashtext(%s))", (team_id,))


async def list_patterns(
    conn: Connection, team_id: str, filters: Filters, *, limit: int, page: int
) -> Page:
    """Ranked: success_count, then the most recently changed, then id. The page and its
    total come in one round trip (a second one only for a page past the end)."""
    where, params = _where(team_id, filters)
    # Unfiltered: the trigger-kept count (migration 0002), not a scan of the team's rows.
    counted = (
        "SELECT n FROM team_pattern_counts WHERE team_id = %(team)s"
        if filters == Filters()
        else f"SELECT count(*) AS n FROM patterns p WHERE {where}"
    )
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS}, ({counted}) AS total_rows FROM patterns p WHERE {where}"
        " ORDER BY p.success_count DESC, p.updated_at DESC, p.id"
        " LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": (page - 1) * limit},
    )
    if rows:
        total = int(rows[0]["total_rows"] or 0)
    else:
        total_row = await fetch_one(conn, counted, params)
        total = int(total_row["n"]) if total_row else 0
    return Page([pattern_out(r) for r in rows], total)


async def sync_page(
    conn: Connection, team_id: str, filters: Filters, *, after: Cursor, limit: int
) -> Page:
    """Changes after `after`, oldest first, in a stable (updated_at, id) order."""
    where, params = _where(team_id, filters)
    params = {**params, "after_at": after.updated_at, "after_id": after.id, "limit": limit + 1}
    async with conn.transaction():
        await _team_lock(conn, team_id, shared=True)
        rows = await fetch_all(
            conn,
            f"SELECT {_COLUMNS} FROM patterns p WHERE {where}"
            " AND (p.updated_at, p.id) > (%(after_at)s, %(after_id)s)"
            " ORDER BY p.updated_at, p.id LIMIT %(limit)s",
            params,
        )
        total_row = await fetch_one(
            conn,
            f"SELECT count(*) AS n FROM patterns p WHERE {where}"
            " AND (p.updated_at, p.id) > (%(after_at)s, %(after_id)s)",
            params,
        )
        deletions = await _deletions_after(conn, team_id, after, limit + 1)
    total = int(total_row["n"]) if total_row else 0
    return _sync_feed([pattern_out(r) for r in rows], deletions, total, limit)


async def _deletions_after(
    conn: Connection, team_id: str, after: Cursor, limit: int
) -> list[Cursor]:
    """The team's tombstones (migration 0004) after `after`, oldest first, as (deleted_at,
    id). Every deletion of the team: a filtered sync cannot tell what a deleted pattern's
    fields were, and a client dropping a copy it does not have does nothing."""
    rows = await fetch_all(
        conn,
        "SELECT deleted_at, pattern_id FROM pattern_deletions WHERE team_id = %s"
        " AND (deleted_at, pattern_id) > (%s, %s) ORDER BY deleted_at, pattern_id LIMIT %s",
        (team_id, after.updated_at, after.id, limit),
    )
    return [Cursor(row["deleted_at"], str(row["pattern_id"])) for row in rows]


def _sync_feed(changed: list[PatternOut], deletions: list[Cursor], total: int, limit: int) -> Page:
    """One sync page: changes and deletions in one (time, id) order, the first `limit` of
    both together; the cursor is the last item's, whichever kind it is. (UUIDs order the
    same as text in their canonical lowercase form.)"""
    feed: list[tuple[datetime, str, PatternOut | None]] = sorted(
        [(p.updated_at, p.id, p) for p in changed]
        + [(d.updated_at, d.id, None) for d in deletions],
        key=lambda item: (item[0], item[1]),
    )
    page = feed[:limit]
    cursor = Cursor(page[-1][0], page[-1][1]).encode() if page else None
    return Page(
        [p for _at, _id, p in page if p is not None],
        total,
        has_more=len(feed) > limit,
        next_cursor=cursor,
        deleted=[ident for _at, ident, p in page if p is None],
    )


def vector_literal(vector: NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


async def search(
    conn: Connection,
    team_id: str,
    filters: Filters,
    query_vector: NDArray[np.float32],
    *,
    limit: int,
    page: int,
) -> Page:
    """Nearest by cosine distance (HNSW), with the same filters as the list."""
    where, params = _where(team_id, Filters(**{**filters.__dict__, "q": None}))
    # Sent together (one wait instead of four): the transaction, its local setting and the
    # search.
    async with conn.pipeline(), conn.transaction():
        await conn.execute(f"SET LOCAL hnsw.ef_search = {max(SEARCH_EF, limit * page)}")
        rows = await fetch_all(
            conn,
            f"SELECT {_COLUMNS} FROM patterns p WHERE {where} AND p.embedding IS NOT NULL"
            " ORDER BY p.embedding <=> %(vector)s::vector LIMIT %(limit)s OFFSET %(offset)s",
            {
                **params,
                "vector": vector_literal(query_vector),
                "limit": limit,
                "offset": (page - 1) * limit,
            },
        )
    return Page([pattern_out(r) for r in rows], len(rows))


async def get_pattern(conn: Connection, team_id: str, pattern_id: str) -> PatternOut:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM patterns p WHERE p.team_id = %s AND p.id = %s",
        (team_id, parse_id(pattern_id)),
    )
    if row is None:
        raise NotFoundError("no such pattern")
    return pattern_out(row)


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanPattern:
    """An upload after scrubbing, with the hash the server computed."""

    problem_type: str
    code_before: str
    code_after: str
    commit_msg: str
    language: str
    repository: str
    file_path: str
    confidence: float | None
    solution_hash: str
    client_pattern_id: str | None
    commit: str = ""
    committed_at: datetime | None = None

    def embed_text(self) -> str:
        return lookup_text(
            Pattern(
                pattern_id="",
                problem_type=ProblemType(self.problem_type),
                before_code=self.code_before,
                after_code=self.code_after,
                commit_msg=self.commit_msg,
                author="",
                date="",
                confidence=self.confidence or 0.0,
                solution_hash=self.solution_hash,
            )
        )


def _scrub(text: str) -> str:
    return scrub_text(text).text


def clean(upload: PatternIn) -> CleanPattern:
    """Secrets scrubbed from every stored text; the hash is of the scrubbed code (a client's
    solution_hash is ignored)."""
    before, after = _scrub(upload.code_before or ""), _scrub(upload.code_after or "")
    return CleanPattern(
        problem_type=upload.problem_type,
        code_before=before,
        code_after=after,
        commit_msg=_scrub(upload.commit_msg),
        language=upload.language,
        repository=_scrub(upload.repository),
        file_path=_scrub(upload.file_path),
        confidence=upload.confidence,
        solution_hash=solution_hash(before, after),
        client_pattern_id=upload.pattern_id,
        commit=upload.commit,
        committed_at=upload.commit_date(),
    )


async def existing_hashes(conn: Connection, team_id: str, hashes: Sequence[str]) -> set[str]:
    rows = await fetch_all(
        conn,
        "SELECT solution_hash FROM patterns WHERE team_id = %s AND solution_hash = ANY(%s)",
        (team_id, list(hashes)),
    )
    return {str(r["solution_hash"]) for r in rows}


async def write_patterns(
    conn: Connection,
    who: Principal,
    items: Sequence[CleanPattern],
    vectors: dict[str, NDArray[np.float32]],
) -> list[BulkItemResult]:
    """Insert or merge each item, all in one transaction. The same solution_hash in the team
    is one pattern: the first author and date stay; a new contributor is added and counted
    (a contributor uploading it again changes nothing, so pushes are idempotent)."""
    results: list[BulkItemResult] = []
    async with conn.transaction():
        await _team_lock(conn, who.team_id, shared=False)
        for index, item in enumerate(items):
            vector = vectors.get(item.solution_hash)
            row = await fetch_one(
                conn,
                """INSERT INTO patterns (team_id, problem_type, solution_hash, code_before,
                       code_after, commit_msg, language, repository, file_path, confidence,
                       created_by, created_by_user, embedding, commit_sha, committed_at)
                   VALUES (%(team)s, %(problem_type)s, %(hash)s, %(before)s, %(after)s,
                       %(msg)s, %(language)s, %(repository)s, %(file_path)s, %(confidence)s,
                       %(user_name)s, %(user)s, %(vector)s::vector, %(commit)s,
                       %(committed_at)s)
                   ON CONFLICT (team_id, solution_hash) DO NOTHING
                   RETURNING id""",
                {
                    "team": who.team_id,
                    "problem_type": item.problem_type,
                    "hash": item.solution_hash,
                    "before": item.code_before,
                    "after": item.code_after,
                    "msg": item.commit_msg,
                    "language": item.language,
                    "repository": item.repository,
                    "file_path": item.file_path,
                    "confidence": item.confidence,
                    "commit": item.commit,
                    "committed_at": item.committed_at,
                    "user_name": who.user_name,
                    "user": who.user_id,
                    "vector": vector_literal(vector) if vector is not None else None,
                },
            )
            created = row is not None
            if row is None:
                row = await fetch_one(
                    conn,
                    "SELECT id FROM patterns WHERE team_id = %s AND solution_hash = %s",
                    (who.team_id, item.solution_hash),
                )
                assert row is not None
            pattern_id = row["id"]
            contributor = await fetch_one(
                conn,
                "INSERT INTO pattern_contributors (pattern_id, user_id, user_name)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING pattern_id",
                (pattern_id, who.user_id, who.user_name),
            )
            if not created and contributor is not None:
                await conn.execute(
                    """UPDATE patterns SET upload_count = upload_count + 1,
                           updated_at = clock_timestamp(),
                           confidence = GREATEST(confidence, %(confidence)s),
                           commit_msg = CASE WHEN commit_msg = '' THEN %(msg)s
                                        ELSE commit_msg END,
                           embedding = COALESCE(embedding, %(vector)s::vector)
                       WHERE id = %(id)s""",
                    {
                        "id": pattern_id,
                        "confidence": item.confidence,
                        "msg": item.commit_msg,
                        "vector": vector_literal(vector) if vector is not None else None,
                    },
                )
            results.append(
                BulkItemResult(
                    index=index,
                    id=str(pattern_id),
                    solution_hash=item.solution_hash,
                    created=created,
                    client_pattern_id=item.client_pattern_id,
                )
            )
    return results


async def give_feedback(
    conn: Connection, who: Principal, pattern_id: str, helpful: bool
) -> FeedbackResult:
    """One vote per user per pattern; a second vote replaces the first."""
    ident = parse_id(pattern_id)
    async with conn.transaction():
        await _team_lock(conn, who.team_id, shared=False)
        row = await fetch_one(
            conn,
            "SELECT id FROM patterns WHERE team_id = %s AND id = %s FOR UPDATE",
            (who.team_id, ident),
        )
        if row is None:
            raise NotFoundError("no such pattern")
        previous = await fetch_one(
            conn,
            "SELECT helpful FROM pattern_feedback WHERE pattern_id = %s AND user_id = %s",
            (ident, who.user_id),
        )
        await conn.execute(
            "INSERT INTO pattern_feedback (pattern_id, user_id, helpful) VALUES (%s, %s, %s)"
            " ON CONFLICT (pattern_id, user_id) DO UPDATE SET helpful = EXCLUDED.helpful,"
            " created_at = now()",
            (ident, who.user_id, helpful),
        )
        success = int(helpful) - (int(previous["helpful"]) if previous else 0)
        failure = int(not helpful) - (int(not previous["helpful"]) if previous else 0)
        counts = await fetch_one(
            conn,
            "UPDATE patterns SET success_count = success_count + %s,"
            " failure_count = failure_count + %s, updated_at = clock_timestamp(),"
            " last_used = CASE WHEN %s THEN now() ELSE last_used END"
            " WHERE id = %s RETURNING success_count, failure_count",
            (success, failure, helpful, ident),
        )
        assert counts is not None
    return FeedbackResult(
        pattern_id=ident,
        helpful=helpful,
        replaced=previous is not None,
        success_count=int(counts["success_count"]),
        failure_count=int(counts["failure_count"]),
    )


async def delete_pattern(conn: Connection, who: Principal, pattern_id: str) -> None:
    """The author deletes their own pattern; an admin any of the team's."""
    ident = parse_id(pattern_id)
    async with conn.transaction():
        await _team_lock(conn, who.team_id, shared=False)
        row = await fetch_one(
            conn,
            "SELECT created_by_user FROM patterns WHERE team_id = %s AND id = %s FOR UPDATE",
            (who.team_id, ident),
        )
        if row is None:
            raise NotFoundError("no such pattern")
        owner = str(row["created_by_user"]) if row["created_by_user"] else None
        if owner != who.user_id and not who.is_admin:
            raise ForbiddenError("only the pattern's author or a team admin may delete it")
        await conn.execute("DELETE FROM patterns WHERE id = %s", (ident,))
