"""Typed helpers for the team server's queries: every row comes back as a dict."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Params
from psycopg.rows import DictRow, dict_row

Connection = psycopg.AsyncConnection[DictRow]
Query = str | sql.Composed | sql.SQL
Row = dict[str, Any]


async def fetch_all(conn: Connection, query: Query, params: Params | None = None) -> list[Row]:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def fetch_one(conn: Connection, query: Query, params: Params | None = None) -> Row | None:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchone()
