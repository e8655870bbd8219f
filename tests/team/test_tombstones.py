"""Tombstones in the sync feed of GET /patterns (migration 0004_pattern_deletions): a deleted
pattern is reported in `deleted`, in the same (time, id) order and under the same cursor as
changes, page by page, to the deleting team only; the ranked list does not carry them."""

from __future__ import annotations

from typing import Any

import httpx

from pattern_memory.team.client import FIRST_SYNC_SINCE


def upload(http: httpx.Client, number: int) -> str:
    response = http.post(
        "/patterns",
        json={
            "problem_type": "bug_fix",
            "code_before": f"value_{number} = load()\n",
            "code_after": f"value_{number} = load() or default\n",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def walk(http: httpx.Client, cursor: str | None, limit: int) -> tuple[list[set[str]], str | None]:
    """Every page after `cursor`: '+id' for a change, '-id' for a deletion (within a page
    their order does not matter: a deleted pattern has no later change)."""
    pages: list[set[str]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        params.update({"cursor": cursor} if cursor else {"updated_since": FIRST_SYNC_SINCE})
        page = http.get("/patterns", params=params).json()
        assert len(page["patterns"]) + len(page["deleted"]) <= limit
        events = {f"+{p['id']}" for p in page["patterns"]} | {f"-{i}" for i in page["deleted"]}
        if events:
            pages.append(events)
        cursor = page["next_cursor"] or cursor
        if not page["has_more"]:
            return pages, cursor


def events(pages: list[set[str]]) -> set[str]:
    return set().union(*pages)


def test_deletions_come_in_the_sync_feed_once_in_order_and_per_team(team_server: Any) -> None:
    team = team_server
    with (
        team.client(team.key("ann", "tombs")) as http,
        team.client(team.key("olaf", "elsewhere")) as other,
    ):
        ids = [upload(http, n) for n in range(5)]
        first, cursor = walk(http, None, limit=2)
        assert first == [{f"+{ids[0]}", f"+{ids[1]}"}, {f"+{ids[2]}", f"+{ids[3]}"}, {f"+{ids[4]}"}]

        assert http.delete(f"/patterns/{ids[1]}").status_code == 204
        extra = upload(http, 9)
        assert http.delete(f"/patterns/{ids[3]}").status_code == 204
        # Incremental: only what happened after the cursor, in the order it happened,
        # across pages of two (a page may end on a deletion: its cursor is the deletion's).
        later, cursor = walk(http, cursor, limit=2)
        assert later == [{f"-{ids[1]}", f"+{extra}"}, {f"-{ids[3]}"}]
        again, _ = walk(http, cursor, limit=2)
        assert again == []

        # A full resync sees what is left, and the deletions (a client without the copy
        # drops nothing); the ranked list and another team see no tombstone.
        everything, _ = walk(http, None, limit=100)
        assert events(everything) == {f"+{i}" for i in (ids[0], ids[2], ids[4], extra)} | {
            f"-{ids[1]}",
            f"-{ids[3]}",
        }
        ranked = http.get("/patterns", params={"limit": 100}).json()
        assert ranked["deleted"] == [] and ranked["total"] == 4
        assert walk(other, None, limit=100)[0] == []

        # Deleting is once: a second delete is 404 and adds no tombstone.
        assert http.delete(f"/patterns/{ids[1]}").status_code == 404
        rows = team.sql("SELECT count(*) FROM pattern_deletions WHERE pattern_id = %s", (ids[1],))
        assert rows == [(1,)]
