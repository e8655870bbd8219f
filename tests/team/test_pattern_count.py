"""The unfiltered `total` of GET /patterns comes from a trigger-kept per-team count
(migration 0002): it must equal the team's rows after every kind of write, in each team."""

from __future__ import annotations

from .conftest import TeamServer


def _upload(n: int) -> dict[str, str]:
    return {"problem_type": "bug_fix", "code_before": f"a = {n}", "code_after": f"a = {n} + 1"}


def test_unfiltered_total_follows_every_write(team_server: TeamServer) -> None:
    key, other = team_server.key("counter", "count-a"), team_server.key("other", "count-b")

    def total(k: str) -> int:
        with team_server.client(k) as client:
            answer = client.get("/patterns")
            assert answer.status_code == 200, answer.text
            return int(answer.json()["total"])

    def actual(team: str) -> int:
        rows = team_server.sql(
            "SELECT count(*) FROM patterns p JOIN teams t ON t.id = p.team_id WHERE t.name = %s",
            (team,),
        )
        return int(rows[0][0])

    assert total(key) == 0
    with team_server.client(key) as client:
        first = client.post("/patterns", json=_upload(0)).json()["id"]
        assert client.post("/patterns", json=_upload(0)).status_code == 200  # merged: no row
        bulk = client.post("/patterns/bulk", json={"patterns": [_upload(n) for n in range(1, 8)]})
        assert bulk.status_code == 200, bulk.text
        assert total(key) == actual("count-a") == 8
        assert client.delete(f"/patterns/{first}").status_code == 204
    with team_server.client(other) as client:
        client.post("/patterns/bulk", json={"patterns": [_upload(n) for n in range(3)]})
    assert total(key) == actual("count-a") == 7
    assert total(other) == actual("count-b") == 3
    with team_server.client(key) as client:  # a filtered total still counts the rows
        answer = client.get("/patterns", params={"problem_type": "bug_fix"})
        assert answer.json()["total"] == 7
