"""The team's adapter versions in PostgreSQL (the registry folder holds the files).

The database mirrors each registry version with an id, its team, its kind and its parents'
ids; `is_active` follows the registry's active version after every activation or rollback.
"""

from __future__ import annotations

import uuid

from ..adapters.versions import VersionRecord
from .models import AdapterList, AdapterVersionOut
from .sql import Connection, Row, fetch_all, fetch_one
from .store import NotFoundError

_COLUMNS = """id, version_name, adapter_path, created_by, created_at, is_active, kind,
    parents, method, weights"""


def version_out(row: Row) -> AdapterVersionOut:
    return AdapterVersionOut(
        **{
            **row,
            "id": str(row["id"]),
            "parents": [str(p) for p in row["parents"] or []],
            "weights": list(row["weights"]) if row["weights"] is not None else None,
        }
    )


async def list_versions(conn: Connection, team_id: str) -> AdapterList:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM adapter_versions WHERE team_id = %s"
        " ORDER BY created_at DESC, version_name DESC",
        (team_id,),
    )
    versions = [version_out(r) for r in rows]
    active = next((v.id for v in versions if v.is_active), None)
    return AdapterList(adapters=versions, active_id=active)


async def get_versions(conn: Connection, team_id: str, ids: list[str]) -> list[Row]:
    """The rows of `ids`, in that order; NotFoundError if one is not the team's."""
    try:
        wanted = [str(uuid.UUID(i)) for i in ids]
    except ValueError:
        raise NotFoundError("no such adapter version") from None
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM adapter_versions WHERE team_id = %s AND id = ANY(%s::uuid[])",
        (team_id, wanted),
    )
    by_id = {str(r["id"]): r for r in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise NotFoundError(f"no adapter version {missing[0]}")
    return [by_id[i] for i in wanted]


async def insert_version(
    conn: Connection,
    team_id: str,
    record: VersionRecord,
    *,
    adapter_path: str,
    kind: str,
    parents: list[str],
    weights: list[float] | None,
) -> AdapterVersionOut:
    row = await fetch_one(
        conn,
        f"""INSERT INTO adapter_versions (team_id, version_name, adapter_path, created_by,
               created_at, kind, parents, method, weights)
           VALUES (%s, %s, %s, %s, %s, %s, %s::uuid[], %s, %s) RETURNING {_COLUMNS}""",
        (
            team_id,
            record.version_name,
            adapter_path,
            record.created_by,
            record.created_at,
            kind,
            parents,
            None if kind == "upload" else record.method,
            weights,
        ),
    )
    assert row is not None
    return version_out(row)


async def mark_active(conn: Connection, team_id: str, name: str | None) -> AdapterVersionOut:
    async with conn.transaction():
        await conn.execute(
            "UPDATE adapter_versions SET is_active = FALSE WHERE team_id = %s AND is_active",
            (team_id,),
        )
        row = await fetch_one(
            conn,
            f"UPDATE adapter_versions SET is_active = TRUE WHERE team_id = %s"
            f" AND version_name = %s RETURNING {_COLUMNS}",
            (team_id, name),
        )
    if row is None:
        raise NotFoundError("the active version is not recorded in the database")
    return version_out(row)
