#!/usr/bin/env python3
"""Benchmark the team server on loopback: requests/s and p50/p99 latency of GET /patterns,
GET /patterns/search?q= and POST /patterns at 1, 8 and 32 concurrent clients, with one app
process and with two (`--workers 2`) on one PostgreSQL holding --patterns patterns.

    nice -n 10 python scripts/bench/bench_team.py [--patterns 100000] [--seconds 4]
        [--workers 1 2] [--clients 1 8 32] [--load-generator python|wrk] [--keep DIR]

The server is the real `pattern-memory team-server` (a subprocess, DATABASE_URL set) on an
embedded PostgreSQL with pgvector (pgserver) in a temporary directory. The patterns are
loaded fast with COPY straight into the server's own schema (created by its migrations):
synthetic code-like text, and as vectors the real model's embeddings of each pattern's lookup
text (what the server embeds on upload; computed once and cached beside a --keep database as
vectors-N.npy), so that the HNSW graph has the structure real embeddings give it: on random
unit vectors every distance is nearly the same, the graph cannot be navigated and a search's
recall says nothing (`--random-vectors` loads those anyway, for a quick run). The HNSW index
is dropped for the load and rebuilt with the migration's own definition. After the load, the
search's recall@10 against the exact nearest neighbours (NumPy over the loaded vectors) is
measured through the server for 50 distinct queries. Searches and uploads go through the real
embedding model in the server, as in production.

The load generator is a small asyncio HTTP/1.1 keep-alive client (one connection per
simulated client), cheaper than httpx so that it takes less of the two cores from the server,
or `wrk` (`apt-get install wrk`: C, one thread, far less CPU than any Python client) driven by
a generated Lua script. The floor is GET /health (a round trip through the app and one
`SELECT 1` on a pooled connection) measured the same way in the same run; figures are also
given as ratios to it. On a machine shared with others, req/s says little: each cell also
gives the CPU time the server's processes (the app's and PostgreSQL's) spent per request
(Linux /proc), and the rate that CPU cost would allow on two idle cores.

GET /patterns asks a random page 1-20 of 20: repeated, so after the first of each the
server's page cache answers (run the server with PATTERN_MEMORY_TEAM_PAGE_CACHE=0 in the
environment to measure the database path). Search runs twice: "repeated" draws from 10
sentences (the server's query-vector cache answers after the first of each), "distinct"
sends a sentence never sent before in the run (the model embeds every one).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from numpy.typing import NDArray

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.text import lookup_text
from pattern_memory.patterns import Pattern, ProblemType
from pattern_memory.team.db import apply_migrations, connect
from pattern_memory.team.keys import create_key

TEAM, USER = "bench-team", "bench-user"
WORDS = [
    "value",
    "items",
    "config",
    "request",
    "response",
    "handler",
    "client",
    "session",
    "cache",
    "index",
    "parse",
    "decode",
    "encode",
    "buffer",
    "stream",
    "token",
    "path",
    "query",
    "result",
    "error",
    "retry",
    "timeout",
    "limit",
    "offset",
    "page",
    "user",
    "name",
    "data",
    "field",
    "schema",
    "model",
    "record",
    "entry",
    "node",
    "graph",
    "tree",
    "list",
    "dict",
    "key",
    "lock",
]
QUERIES = [
    "close the file handle when parsing fails",
    "off by one in pagination offset",
    "retry the request after a timeout",
    "decode bytes before comparing the token",
    "None check before reading the config value",
    "release the lock on error",
    "escape the query parameter",
    "cache key must include the user name",
    "stream is not closed after the response",
    "wrong default for the page size",
]
# "distinct" searches: 20 x 40 x 12 x 40 = 384,000 sentences, taken in a shuffled order.
VERBS = [
    "close",
    "check",
    "retry",
    "decode",
    "escape",
    "release",
    "validate",
    "reset",
    "flush",
    "sort",
    "copy",
    "guard",
    "parse",
    "free",
    "lock",
    "cache",
    "log",
    "skip",
    "limit",
    "round",
]
LINKS = [
    "before",
    "after",
    "when",
    "inside",
    "for",
    "without",
    "until",
    "unless",
    "while",
    "from",
    "into",
    "on",
]


def distinct_queries(seed: int = 11) -> itertools.cycle[str]:
    combos = list(itertools.product(range(len(VERBS)), range(len(WORDS)), range(len(LINKS))))
    random.Random(seed).shuffle(combos)
    sentences = (
        f"{VERBS[v]} the {WORDS[w]} {LINKS[link]} the {WORDS[(w + 1 + n) % len(WORDS)]}"
        for n in range(len(WORDS) - 1)
        for v, w, link in combos
    )
    return itertools.cycle(sentences)


_DISTINCT = distinct_queries()
_RUN = uuid.uuid4().hex[:8]


# --- the database ----------------------------------------------------------------------------


def start_postgres(root: Path) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        return pgserver.get_server(root / "pgdata", cleanup_mode="stop")  # type: ignore[attr-defined]


async def prepare(url: str) -> str:
    await apply_migrations(url)
    async with connect(url) as conn:
        return (await create_key(conn, user=USER, team=TEAM, admin=False)).key


def _code(rng: random.Random, n: int) -> tuple[str, str]:
    words = rng.sample(WORDS, 6)
    before = (
        f"def {words[0]}_{n}({words[1]}, {words[2]}):\n"
        f"    {words[3]} = {words[1]}.get({words[2]!r})\n"
        f"    return {words[3]}.{words[4]}({words[5]})\n"
    )
    after = before.replace(
        f"    return {words[3]}",
        f"    if {words[3]} is None:\n        return None\n    return {words[3]}",
        1,
    )
    return before, after


@dataclass(frozen=True)
class BenchRow:
    problem_type: str
    before: str
    after: str
    message: str
    language: str
    file_path: str
    confidence: float
    success_count: int

    def lookup_text(self) -> str:
        """What the server embeds for this pattern on upload."""
        return lookup_text(
            Pattern(
                pattern_id="",
                problem_type=ProblemType.BUG_FIX,  # lookup_text does not read it
                before_code=self.before,
                after_code=self.after,
                commit_msg=self.message,
                author="",
                date="",
                confidence=self.confidence,
                language=self.language,
            )
        )


def bench_rows(count: int, seed: int = 7) -> list[BenchRow]:
    """The synthetic patterns, the same for the same count and seed."""
    rng = random.Random(seed)
    types = ["bug_fix"] * 6 + ["refactor", "feature", "performance", "security"]
    languages = ["python"] * 5 + ["javascript", "go", "typescript"]
    rows = []
    for n in range(count):
        before, after = _code(rng, n)
        rows.append(
            BenchRow(
                problem_type=rng.choice(types),
                before=before,
                after=after,
                message=f"fix {rng.choice(WORDS)} {rng.choice(WORDS)} ({n})",
                language=rng.choice(languages),
                file_path=f"src/{rng.choice(WORDS)}/{n}.py",
                confidence=round(rng.random(), 3),
                success_count=rng.randrange(0, 20),
            )
        )
    return rows


def model_vectors(rows: list[BenchRow], cache: Path | None) -> NDArray[np.float32]:
    """The model's vectors of the rows' lookup texts, read from `cache` when it has them."""
    if cache is not None and cache.exists():
        cached: NDArray[np.float32] = np.load(cache).astype(np.float32)
        if cached.shape == (len(rows), 384):
            return cached
    started = time.perf_counter()
    vectors = FastEmbedEmbedder().embed([row.lookup_text() for row in rows])
    seconds = time.perf_counter() - started
    print(f"embedded {len(rows):,} lookup texts with the model in {seconds:.0f} s")
    if cache is not None:
        np.save(cache, vectors)
    return vectors


def random_vectors(count: int, seed: int = 7) -> NDArray[np.float32]:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def load_patterns(
    url: str, rows: list[BenchRow], vectors: NDArray[np.float32]
) -> tuple[float, list[str]]:
    """COPY the rows with their vectors (and their contributor rows) into the bench team;
    seconds, and the patterns' ids in the rows' order."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        team_id, user_id = conn.execute(
            "SELECT t.id, u.id FROM teams t JOIN users u ON u.team_id = t.id"
            " WHERE t.name = %s AND u.name = %s",
            (TEAM, USER),
        ).fetchone() or (None, None)
        index_sql = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_patterns_embedding'"
        ).fetchone()
        assert index_sql is not None and team_id is not None
        conn.execute("DROP INDEX idx_patterns_embedding")
        conn.execute("DELETE FROM patterns WHERE team_id = %s", (team_id,))
        ids = [uuid.uuid4() for _ in rows]
        with conn.transaction():
            with conn.cursor().copy(
                "COPY patterns (id, team_id, problem_type, solution_hash, code_before,"
                " code_after, commit_msg, language, repository, file_path, confidence,"
                " success_count, created_by, created_by_user, embedding) FROM STDIN"
            ) as copy:
                for n, row in enumerate(rows):
                    vector = "[" + ",".join(f"{x:.6f}" for x in vectors[n]) + "]"
                    copy.write_row(
                        (
                            ids[n],
                            team_id,
                            row.problem_type,
                            f"{n:064x}",
                            row.before,
                            row.after,
                            row.message,
                            row.language,
                            f"github.com/bench/repo{n % 50}",
                            row.file_path,
                            row.confidence,
                            row.success_count,
                            USER,
                            user_id,
                            vector,
                        )
                    )
            with conn.cursor().copy(
                "COPY pattern_contributors (pattern_id, user_id, user_name) FROM STDIN"
            ) as copy:
                for ident in ids:
                    copy.write_row((ident, user_id, USER))
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(index_sql[0])
        conn.execute("ANALYZE")
    return time.perf_counter() - started, [str(i) for i in ids]


def ensure_loaded(
    root: Path, url: str, count: int, random_kind: bool, fresh: bool
) -> NDArray[np.float32]:
    """The database holds `count` bench patterns with vectors of the asked kind (loaded
    now unless a kept database already does, as `root/loaded.json` says); their vectors."""
    rows = bench_rows(count)
    kind = "random" if random_kind else "model"
    vectors = (
        random_vectors(count) if random_kind else model_vectors(rows, root / f"vectors-{count}.npy")
    )
    marker = root / "loaded.json"
    loaded = json.loads(marker.read_text()) if marker.exists() and not fresh else {}
    if loaded != {"patterns": count, "vectors": kind}:
        seconds, _ = load_patterns(url, rows, vectors)
        marker.write_text(json.dumps({"patterns": count, "vectors": kind}))
        print(
            f"loaded {count:,} patterns ({kind} vectors) by COPY (+ HNSW build) in {seconds:.1f} s"
        )
    return vectors


def search_recall(
    port: int, key: str, url: str, vectors: NDArray[np.float32], queries: int = 50
) -> float:
    """Mean recall@10 of GET /patterns/search against the exact cosine nearest neighbours
    (NumPy over the loaded vectors), for queries no cell sends."""
    texts = [
        f"{VERBS[i % len(VERBS)]} the {WORDS[(7 * i) % len(WORDS)]} value {i}"
        for i in range(queries)
    ]
    with psycopg.connect(url) as conn:
        ids = [
            str(r[0])
            for r in conn.execute(
                # The loaded rows' hashes are their numbers in hex (uploads' are real sha256).
                "SELECT id FROM patterns WHERE solution_hash LIKE '0000000000%'"
                " ORDER BY solution_hash"
            )
        ]
    query_vectors = FastEmbedEmbedder().embed(texts)
    found = []
    for text, query in zip(texts, query_vectors, strict=True):
        exact = {ids[i] for i in np.argsort(-(vectors @ query))[:10]}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{_search_path(text)}", headers={"X-API-Key": key}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            hits = {p["id"] for p in json.loads(response.read())["patterns"]}
        found.append(len(hits & exact) / 10)
    return float(np.mean(found))


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(url: str, storage: Path, workers: int, extra: list[str]) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PATTERN_MEMORY_TEAM_STORAGE": str(storage)}
    command = [
        str(Path(sys.executable).with_name("pattern-memory")),
        "team-server",
        "--port",
        str(port),
    ]
    command += ["--workers", str(workers), *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"team-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            status = asyncio.run(_one_get(port, "/health"))
            if status == 200:
                return Server(process, port)
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("team-server did not answer /health within 120 s")


# --- the load generator ----------------------------------------------------------------------


class Connection:
    """One HTTP/1.1 keep-alive connection; responses must carry Content-Length (uvicorn's
    JSON responses do)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, key: str | None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if key is not None:
            head += f"X-API-Key: {key}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def _one_get(port: int, path: str) -> int:
    conn = await Connection.open(port)
    try:
        return (await conn.request("GET", path, None))[0]
    finally:
        await conn.close()


# --- CPU used by the server ------------------------------------------------------------------

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid: (parent pid, CPU seconds) of every process."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) * _TICK_S)
    return stats


def server_cpu_s(roots: list[int]) -> float:
    """CPU seconds so far of `roots` and all their descendants."""
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo += children.get(pid, [])
    return total


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


@dataclass(frozen=True)
class Cell:
    operation: str
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    app_cpu_s: float = 0.0  # the app processes' during the cell
    db_cpu_s: float = 0.0  # PostgreSQL's

    def cpu_ms_per_request(self, cpu_s: float) -> float:
        return 1000 * cpu_s / max(1, self.requests)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _percentile(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _search_path(query: str) -> str:
    return f"/patterns/search?q={query.replace(' ', '+')}&limit=10"


def _request_for(operation: str, rng: random.Random) -> tuple[str, str, bytes | None]:
    if operation == "GET /health":
        return "GET", "/health", None
    if operation == "GET /patterns":
        return "GET", f"/patterns?page={rng.randint(1, 20)}", None
    if operation == "GET /patterns/search (repeated)":
        return "GET", _search_path(rng.choice(QUERIES)), None
    if operation == "GET /patterns/search (distinct)":
        return "GET", _search_path(next(_DISTINCT)), None
    if operation == "POST /patterns":
        # New to the database in every run (a kept one included): a merge embeds nothing.
        n = f"{_RUN}_{rng.getrandbits(60)}"
        body = {
            "problem_type": "bug_fix",
            "code_before": f"total_{n} = items[len(items)]",
            "code_after": f"total_{n} = items[len(items) - 1]",
        }
        return "POST", "/patterns", json.dumps(body).encode()
    raise ValueError(operation)


async def run_cell(port: int, key: str, operation: str, clients: int, seconds: float) -> Cell:
    rng = random.Random(f"{operation}{clients}")
    latencies: list[float] = []
    errors = 0
    connections = [await Connection.open(port) for _ in range(clients)]
    # Warm-up: every connection once (the model's first load, the pool's connections), and
    # every repeated query once (the figures are then those of repeated queries).
    for conn in connections:
        await conn.request(*_request_for(operation, rng)[:2], key, _request_for(operation, rng)[2])
    if operation == "GET /patterns/search (repeated)":
        for q in QUERIES:
            await connections[0].request("GET", _search_path(q), key)
    stop_at = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            method, path, body = _request_for(operation, rng)
            started = time.perf_counter()
            status, _ = await conn.request(method, path, key, body)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status >= 400

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        await conn.close()
    return Cell(
        operation,
        clients,
        len(latencies),
        errors,
        elapsed,
        _percentile(latencies, 0.5),
        _percentile(latencies, 0.99),
    )


# wrk: the requests come from a Lua script made from the same _request_for (a list of them,
# taken in turn; distinct searches get as many as wrk could send).
_WRK_SCRIPT = """
local requests = {%s}
local n = 0
wrk.headers["X-API-Key"] = "%s"
request = function()
  n = n %% #requests + 1
  local r = requests[n]
  if r[3] then
    local headers = {["Content-Type"] = "application/json",
                     ["X-API-Key"] = wrk.headers["X-API-Key"]}
    return wrk.format(r[1], r[2], headers, r[3])
  end
  return wrk.format(r[1], r[2])
end
"""
_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string for this text


def run_wrk_cell(port: int, key: str, operation: str, clients: int, seconds: float) -> Cell:
    rng = random.Random(f"{operation}{clients}")
    count = 20_000 if "distinct" in operation or operation == "POST /patterns" else 200
    rows = []
    for _ in range(count):
        method, path, body = _request_for(operation, rng)
        rows.append(
            "{" + ",".join([_lua(method), _lua(path), _lua(body.decode()) if body else "nil"]) + "}"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % (",".join(rows), key))
    try:
        out = subprocess.run(
            [
                *("wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency"),
                *("-s", script.name, f"http://127.0.0.1:{port}"),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match.group(1)) * _WRK_UNITS[match.group(2)]

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", out)
    assert done, out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        print(f"    wrk {operation} c={clients}: socket errors {socket_errors.group(1)}")
    return Cell(
        operation,
        clients,
        int(done.group(1)),
        int(errors.group(1)) if errors else 0,
        float(done.group(2)) * _WRK_UNITS[done.group(3)] / 1000,
        latency("50"),
        latency("99"),
    )


# --- the run ---------------------------------------------------------------------------------

OPERATIONS = [
    "GET /patterns",
    "GET /patterns/search (repeated)",
    "GET /patterns/search (distinct)",
    "POST /patterns",
]


def print_cells(cells: list[Cell], floor: dict[int, Cell]) -> None:
    print(
        f"  {'operation':<32} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'err':>4}   {'p50/floor':>9} {'p99/floor':>9} {'req/s / floor':>13}"
        f" {'cpu ms/req app+db':>17} {'req/s on 2 idle cores':>21}"
    )
    for cell in cells:
        base = floor[cell.clients]
        app_ms, db_ms = (
            cell.cpu_ms_per_request(cell.app_cpu_s),
            cell.cpu_ms_per_request(cell.db_cpu_s),
        )
        print(
            f"  {cell.operation:<32} {cell.clients:>7} {cell.rps:>8.0f}"
            f" {cell.p50_ms:>8.1f} {cell.p99_ms:>8.1f} {cell.errors:>4}"
            f"   {cell.p50_ms / base.p50_ms:>9.1f}"
            f" {cell.p99_ms / base.p99_ms:>9.1f}"
            f" {cell.rps / base.rps:>13.2f}"
            f" {app_ms:>8.2f}+{db_ms:<8.2f} {2000 / max(app_ms + db_ms, 1e-9):>21.0f}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="per cell")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--operations", nargs="+", default=OPERATIONS, choices=OPERATIONS, metavar="OP"
    )
    parser.add_argument("--keep", type=Path, help="reuse/keep the database in this folder")
    parser.add_argument("--load-generator", choices=["python", "wrk"], default="python")
    parser.add_argument(
        "--random-vectors",
        action="store_true",
        help="random unit vectors instead of the model's (quick to load; recall meaningless)",
    )
    args = parser.parse_args()
    if args.load_generator == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    def cell(server: Server, operation: str, clients: int) -> Cell:
        app, db = [server.process.pid], [postmaster_pid(root / "pgdata")]
        if args.load_generator == "wrk":
            # wrk opens its connections at once: warm them (model, pool) as the Python one does.
            asyncio.run(run_cell(server.port, key, operation, clients, 0.0))
            before = server_cpu_s(app), server_cpu_s(db)
            done = run_wrk_cell(server.port, key, operation, clients, args.seconds)
        else:
            before = server_cpu_s(app), server_cpu_s(db)
            done = asyncio.run(run_cell(server.port, key, operation, clients, args.seconds))
        return dataclasses.replace(
            done, app_cpu_s=server_cpu_s(app) - before[0], db_cpu_s=server_cpu_s(db) - before[1]
        )

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-team-"))
    root.mkdir(parents=True, exist_ok=True)
    fresh = not (root / "pgdata").exists()
    pg = start_postgres(root)
    try:
        url = str(pg.get_uri())  # type: ignore[attr-defined]
        key = asyncio.run(prepare(url))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        vectors = ensure_loaded(root, url, args.patterns, args.random_vectors, fresh)
        for workers in args.workers:
            server = start_server(url, root / "adapters", workers, [])
            try:
                print(
                    f"\n{workers} app process(es), {args.seconds:.0f} s per cell,"
                    f" load generator {args.load_generator}, load average"
                    f" {os.getloadavg()[0]:.2f}:"
                )
                if any("search" in op for op in args.operations):
                    recall = search_recall(server.port, key, url, vectors)
                    print(f"search recall@10 against the exact nearest: {recall:.3f}")
                floor = {c: cell(server, "GET /health", c) for c in args.clients}
                cells = [cell(server, op, c) for op in args.operations for c in args.clients]
                print_cells(list(floor.values()) + cells, floor)
            finally:
                server.stop()
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        pg.cleanup()  # type: ignore[attr-defined]
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
