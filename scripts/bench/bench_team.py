"""Team server throughput and latency on loopback: requests/s, p50 and p99 of GET /patterns,
GET /patterns/search and POST /patterns at 1, 8 and 32 concurrent clients, with one and with
two app processes (`team-server --workers N`) on one PostgreSQL (embedded, pgserver).

The database is filled with --patterns rows by SQL (random unit vectors for the embeddings:
embedding 100k texts with the real model would take minutes and is not what is measured;
search queries are embedded by the server with the real model, as in production).

    nice -n 10 python scripts/bench/bench_team.py --patterns 100000 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx
import psycopg

QUERIES = ["close the database connection", "handle None", "utf-8 decoding error", "off by one"]


def fill(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        team = conn.execute("SELECT id FROM teams WHERE name = 'bench'").fetchone()
        assert team is not None
        conn.execute("DROP INDEX IF EXISTS idx_patterns_embedding")
        conn.execute(
            """INSERT INTO patterns (team_id, problem_type, solution_hash, code_before,
                   code_after, commit_msg, language, repository, created_by, success_count,
                   embedding)
               SELECT %s, CASE WHEN g %% 3 = 0 THEN 'feature_addition' ELSE 'bug_fix' END,
                   md5(g::text) || md5((g * 7)::text),
                   'value = compute(' || g || ')', 'value = compute(' || g || ') or 0',
                   'fix: handle case ' || g, 'python', 'repo' || (g %% 20), 'seed', g %% 50,
                   (SELECT array_agg(random() - 0.5)::vector FROM generate_series(1, 384) AS d(i)
                    WHERE g > 0)
               FROM generate_series(1, %s) AS g""",
            (team[0], count),
        )
        started = time.monotonic()
        conn.execute(
            "CREATE INDEX idx_patterns_embedding ON patterns USING hnsw"
            " (embedding vector_cosine_ops)"
        )
        print(f"filled {count} patterns; HNSW index built in {time.monotonic() - started:.0f} s")
        conn.execute("VACUUM ANALYZE patterns")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "pattern_memory", "team-server", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


async def load(base: str, key: str, kind: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            started = time.perf_counter()
            if kind == "GET /patterns":
                response = await client.get(
                    "/patterns", params={"problem_type": "bug_fix", "limit": 20}
                )
            elif kind == "GET /patterns/search":
                response = await client.get(
                    "/patterns/search", params={"q": QUERIES[counter % 4], "limit": 10}
                )
            else:
                response = await client.post(
                    "/patterns",
                    json={
                        "problem_type": "bug_fix",
                        "code_before": f"bench_{os.getpid()}_{counter}_{time.time_ns()}()",
                        "code_after": "fixed()",
                        "commit_msg": "fix: bench",
                    },
                )
            latencies.append(time.perf_counter() - started)
            assert response.status_code < 300, response.text

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=60
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    root = Path(tempfile.mkdtemp(prefix="bench_team_"))
    pg = pgserver.get_server(root / "pg", cleanup_mode="delete")  # type: ignore[attr-defined]
    url = pg.get_uri()
    try:
        key = cli(url, "create-key", "--user", "bench", "--team", "bench")
        fill(url, args.patterns)
        print("| app processes | route | clients | requests/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|")
        for workers in args.workers:
            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pattern_memory",
                    "team-server",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--storage",
                    str(root / "adapters"),
                ],
                env={**os.environ, "DATABASE_URL": url},
                start_new_session=True,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                while True:
                    try:
                        if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.3)
                # Warm up: the embedding model loads on each process's first search.
                asyncio.run(load(base, key, "GET /patterns/search", workers * 2, 3))
                for kind in ("GET /patterns", "GET /patterns/search", "POST /patterns"):
                    for clients in args.clients:
                        lat = asyncio.run(load(base, key, kind, clients, args.seconds))
                        p50, p99 = statistics.median(lat) * 1000, percentile(lat, 0.99) * 1000
                        rate = len(lat) / args.seconds
                        row = f"| {workers} | {kind} | {clients} | {rate:.0f} |"
                        print(f"{row} {p50:.1f} | {p99:.1f} |", flush=True)
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(30)
    finally:
        pg.cleanup()


if __name__ == "__main__":
    main()
