"""The database stops under a running server: /health and routes answer 503 (no crash, no
trace), and the server recovers by itself when the database is back. Its own PostgreSQL:
stopping the session's would disturb other modules."""

from __future__ import annotations

import time
import warnings
from pathlib import Path


def wait_for(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_lost_database_answers_503_then_recovers(tmp_path: Path, team_tools) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver._commands import pg_ctl

    pg = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    try:
        team = team_tools.start_server(team_tools.fresh_database(pg, "loss"), tmp_path / "storage")
        try:
            key = team.key("alice", "core", admin=True)
            with team.client(key) as client:
                assert client.get("/health").json()["database"] == "connected"
                assert (
                    client.post(
                        "/patterns", json={"code_before": "a()", "code_after": "a(1)"}
                    ).status_code
                    == 201
                )
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg.pgdata, user=pg.system_user)
                health = client.get("/health")
                assert health.status_code == 503
                assert health.json() == {
                    "status": "unhealthy",
                    "version": "1.0.0",
                    "database": "disconnected",
                }
                down = client.get("/patterns")
                assert down.status_code == 503
                assert set(down.json()) == {"detail"}
                pg.ensure_postgres_running()
                wait_for(lambda: client.get("/health").status_code == 200)
                wait_for(lambda: client.get("/patterns").status_code == 200)
                assert client.get("/patterns").json()["total"] == 1
        finally:
            team_tools.stop_server(team)
    finally:
        pg.cleanup()
