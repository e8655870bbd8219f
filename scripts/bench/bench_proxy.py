#!/usr/bin/env python3
"""The proxy's cost beside its floor, in one run: the same requests sent to a local stub
upstream directly (the floor) and through `pattern-memory proxy` with N patterns in the
store (the real memory: SQLite + sqlite-vec, the real model embedding each query).

- plain: p50 / p95 of added latency per non-streamed OpenAI request (target p50 <= 10 ms);
- stream: time to the first streamed byte, through the proxy minus direct (target <= 5 ms).

Usage: python scripts/bench/bench_proxy.py [--patterns 10000] [--requests 200] [--db PATH]
(--db keeps the built store between runs.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "assist"))
from proxy_harness import Stub, serve, stub_app

from pattern_memory.assist.proxy.app import ProxyConfig, create_app
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings

SUBJECTS = ["timeout", "retry", "cache key", "null user", "off-by-one", "encoding", "lock", "path"]


def build_store(db: Path, count: int) -> PatternMemory:
    memory = PatternMemory.open(Settings(db_path=db, user_id="bench"))
    have = memory.stats().patterns
    if have < count:
        patterns = [
            Pattern(
                pattern_id=make_pattern_id("bench", str(i)),
                problem_type=ProblemType.BUG_FIX,
                before_code=f"value_{i} = compute_{i % 97}(x, {i})",
                after_code=f"value_{i} = compute_{i % 97}(x, {i} + 1)",
                commit_msg=f"fix: {SUBJECTS[i % len(SUBJECTS)]} bug number {i} in module_{i % 53}",
                author="bench@example.com",
                date="2099-01-01 00:00:00",
                confidence=0.8,
                language="python",
            )
            for i in range(have, count)
        ]
        for start in range(0, len(patterns), 1000):
            memory.add_patterns(patterns[start : start + 1000])
    return memory


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_posts(client: httpx.Client, url: str, bodies: list[dict[str, object]]) -> list[float]:
    out = []
    for body in bodies:
        started = time.perf_counter()
        client.post(url, json=body).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def first_bytes(client: httpx.Client, url: str, bodies: list[dict[str, object]]) -> list[float]:
    out = []
    for body in bodies:
        started = time.perf_counter()
        with client.stream("POST", url, json={**body, "stream": True}) as response:
            first = True
            for _ in response.iter_raw():
                if first:
                    out.append((time.perf_counter() - started) * 1000)
                    first = False
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    started = time.perf_counter()
    memory = build_store(db, args.patterns)
    print(f"store: {memory.stats().patterns} patterns ({time.perf_counter() - started:.1f} s)")
    stub = Stub(answer="Sure, here is an answer without any fix in it.")
    bodies: list[dict[str, object]] = [
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": f"why does the {SUBJECTS[i % 8]} bug {i} happen?"}
            ],
        }
        for i in range(args.requests)
    ]
    headers = {"Authorization": "Bearer bench", "X-Pattern-Memory-User": "bench"}
    with serve(stub_app(stub)) as upstream:
        app = create_app(ProxyConfig(upstream, memory.settings, 30.0), memory)
        with serve(app) as proxy, httpx.Client(headers=headers, timeout=30) as client:
            warm = bodies[:10]
            timed_posts(client, upstream + "/v1/chat/completions", warm)
            timed_posts(client, proxy + "/v1/chat/completions", warm)
            direct = timed_posts(client, upstream + "/v1/chat/completions", bodies)
            through = timed_posts(client, proxy + "/v1/chat/completions", bodies)
            ttfb_direct = first_bytes(client, upstream + "/v1/chat/completions", bodies)
            ttfb_proxy = first_bytes(client, proxy + "/v1/chat/completions", bodies)
        injected = app.state.proxy.metrics.counters["patterns_injected_total"]
        lookups = app.state.proxy.metrics.lookup_ms
        lookup_mean = lookups.total / max(1, lookups.observed)
    memory.close()
    d50, p50 = statistics.median(direct), statistics.median(through)
    added = p50 - d50
    added95 = percentile(through, 0.95) - percentile(direct, 0.95)
    t_direct, t_proxy = statistics.median(ttfb_direct), statistics.median(ttfb_proxy)
    ttfb_added = t_proxy - t_direct
    print(f"plain: direct p50 {d50:.2f} ms, proxy p50 {p50:.2f} ms ({p50 / d50:.2f}x)")
    print(f"plain: added p50 {added:.2f} ms (target <= 10), added p95 {added95:.2f} ms")
    print(f"stream: first byte direct p50 {t_direct:.2f} ms, proxy {t_proxy:.2f} ms")
    print(f"stream: added {ttfb_added:.2f} ms (target <= 5)")
    print(f"patterns injected over the run: {injected}; memory lookup mean {lookup_mean:.2f} ms")
    return 0 if added <= 10 and ttfb_added <= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
