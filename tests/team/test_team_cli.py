"""`pattern-memory team-server create-key / list-keys / revoke-key` on a real database, and
`team-server --workers 2` serving it (stateless app processes on one database)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pattern_memory", "team-server", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(server: subprocess.Popen[bytes], base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "server did not start"
        time.sleep(0.3)


def test_key_commands(pg_server: Any, team_tools: Any) -> None:
    url = team_tools.fresh_database(pg_server, "cli_keys")
    made = cli(url, "create-key", "--user", "alice", "--team", "core", "--admin")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("pm_") and len(made.stdout.splitlines()) == 1
    assert "shown once" in made.stderr
    listed = cli(url, "list-keys")
    assert listed.returncode == 0
    assert "alice" in listed.stdout and "admin" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout  # only the id: the key itself is not stored
    revoked = cli(url, "revoke-key", key)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in cli(url, "list-keys", "--team", "core").stdout
    bad = cli(url, "revoke-key", "not-a-key")
    assert bad.returncode == 2
    assert bad.stderr.startswith("pattern-memory: error:") and "Traceback" not in bad.stderr
    down = cli("postgresql://nobody@127.0.0.1:1/none", "list-keys")
    assert down.returncode != 0
    assert "cannot reach the team database" in down.stderr and "Traceback" not in down.stderr


def test_two_worker_processes_serve_one_database(
    pg_server: Any, team_tools: Any, tmp_path: Path
) -> None:
    url = team_tools.fresh_database(pg_server, "cli_serve")
    key = cli(url, "create-key", "--user", "alice", "--team", "core").stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pattern_memory",
            "team-server",
            "--port",
            str(port),
            "--workers",
            "2",
            "--storage",
            str(tmp_path / "adapters"),
        ],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(server, base)
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
            ids = {
                client.post(
                    "/patterns", json={"code_before": f"w{i}()", "code_after": f"w{i}(1)"}
                ).json()["id"]
                for i in range(20)
            }
            assert len(ids) == 20
            # Each request may land on either process: every one sees every write.
            for _ in range(10):
                assert client.get("/patterns", params={"limit": 100}).json()["total"] == 20
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert server.returncode == 0, server.stderr.read().decode() if server.stderr else ""


def test_sigterm_stops_the_server_and_its_embedded_postgresql(tmp_path: Path) -> None:
    """Without DATABASE_URL the server runs its own PostgreSQL: a SIGTERM (what a service
    manager sends) shuts both down, exit status 0, nothing left running."""
    port, pgdata = _free_port(), tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [sys.executable, "-m", "pattern_memory", "team-server", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--pgdata", str(pgdata), "--storage", str(tmp_path / "adapters")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_healthy(server, f"http://127.0.0.1:{port}", timeout=90)
        assert (pgdata / "postmaster.pid").exists()  # its PostgreSQL is running
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, server.stderr.read().decode() if server.stderr else ""
    assert not (pgdata / "postmaster.pid").exists()  # and stopped with it
