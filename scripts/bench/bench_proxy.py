#!/usr/bin/env python3
"""The proxy's cost beside its floor, in one run: the same requests sent to a local stub
upstream directly (the floor) and through `pattern-memory proxy` with N patterns in the
store (the real memory: SQLite + sqlite-vec, the real model embedding each query).

Direct and proxied requests alternate (one of each per message, the order swapped every
other message), so that the floor is measured at the same moments as the proxy on a loaded
machine. Every pass sends messages no other pass sent, so a cache of query vectors cannot
hide the cost of embedding; the `repeated` pass sends each of its messages through the
proxy once untimed and then times it again at once (a retry, an agent loop sending the same
last message) to show what the cache saves.

- plain: p50 / p95 of added latency per non-streamed OpenAI request (target p50 <= 10 ms);
- stream: time to the first streamed byte, through the proxy minus direct (target <= 5 ms);
- repeated: each message timed the second time it is sent (its query vector cached);
- long: user messages of ~LONG_WORDS words (a traceback and code pasted into a question).

The stub's answer mentions a fix, so the learned forge detector embeds it after each answer
(off the request's path, but on the same two cores as the next request): `--gap-ms` pauses
between messages as a client would, `--no-forge` turns forging off. The lookup budget is
off by default (`--budget-ms`): a lookup skipped for being late would look fast.

With `--processes` the bench runs as the proxy is deployed: the stub upstream in a process
of its own and the proxy as the real `pattern-memory proxy` command, the bench's client
alone in this one (by default all three share this process, and its one GIL); the lookup
figures then come from the proxy's `GET /metrics`.

Usage: python scripts/bench/bench_proxy.py [--patterns 10000] [--requests 200] [--db PATH]
       [--gap-ms 0] [--no-forge] [--budget-ms 60000] [--processes]
(--db keeps the built store between runs.)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

# The test helpers are the `tests` package at the repository root, which running a script
# does not put on the path (only the script's own folder): put it there once.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pattern_memory.assist.proxy.app import ProxyConfig, create_app
from pattern_memory.assist.proxy.server import forge_model, open_memory
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings
from tests.assist.proxy_harness import Stub, serve, stub_app

ROOT = Path(__file__).resolve().parents[2]
STUB_ANSWER = "Sure, here is an answer without any fix in it."
SUBJECTS = ["timeout", "retry", "cache key", "null user", "off-by-one", "encoding", "lock", "path"]
LONG_WORDS = 450
Body = dict[str, object]
Timer = Callable[[httpx.Client, str, Body], float]


def build_store(db: Path, count: int) -> PatternMemory:
    memory = open_memory(Settings(db_path=db, user_id="bench"))
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


def plain(client: httpx.Client, url: str, body: Body) -> float:
    started = time.perf_counter()
    client.post(url, json=body).raise_for_status()
    return (time.perf_counter() - started) * 1000


def first_byte(client: httpx.Client, url: str, body: Body) -> float:
    started = time.perf_counter()
    first = 0.0
    with client.stream("POST", url, json={**body, "stream": True}) as response:
        response.raise_for_status()
        for _ in response.iter_raw():
            if not first:
                first = (time.perf_counter() - started) * 1000
    return first


def message(text: str) -> Body:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def short_messages(tag: str, count: int) -> list[Body]:
    return [
        message(f"why does the {SUBJECTS[i % 8]} bug {i} happen? ({tag} {os.getpid()})")
        for i in range(count)
    ]


def long_messages(count: int) -> list[Body]:
    """A question with a traceback and a function pasted after it: ~LONG_WORDS words."""
    out = []
    for i in range(count):
        frames = "\n".join(
            f'  File "/srv/app/module_{(i + f) % 53}.py", line {10 + f}, in compute_{f % 97}\n'
            f"    value_{i} = compute_{f % 97}(x, {i + f})"
            for f in range(12)
        )
        code = "\n".join(
            f"    if value_{j} is None:\n        value_{j} = default_{j}(x)  # case {i}"
            for j in range(30)
        )
        out.append(
            message(
                f"The {SUBJECTS[i % 8]} bug {i} is back ({os.getpid()}). Traceback:\n{frames}\n"
                f"TypeError: unsupported operand\n\nHere is the function:\n\n```python\n"
                f"def compute_{i % 97}(x):\n{code}\n    return x\n```\nWhy does it fail?"
            )
        )
    return out


@dataclasses.dataclass
class Pass:
    direct: list[float]
    proxied: list[float]

    def line(self, name: str, target: float | None) -> str:
        d50, p50 = statistics.median(self.direct), statistics.median(self.proxied)
        added95 = percentile(self.proxied, 0.95) - percentile(self.direct, 0.95)
        goal = f" (target <= {target:g})" if target is not None else ""
        return (
            f"{name}: direct p50 {d50:.2f} ms, proxy p50 {p50:.2f} ms ({p50 / d50:.2f}x); "
            f"added p50 {p50 - d50:.2f} ms{goal}, added p95 {added95:.2f} ms"
        )

    @property
    def added(self) -> float:
        return statistics.median(self.proxied) - statistics.median(self.direct)


def model_p50(memory: PatternMemory, bodies: list[Body]) -> float:
    """p50 of the memory's own embedder on each body's message (texts no pass sent)."""
    times = []
    for body in bodies:
        messages = body["messages"]
        assert isinstance(messages, list)
        started = time.perf_counter()
        memory.embedder.embed([messages[-1]["content"]])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run_pass(
    client: httpx.Client,
    urls: tuple[str, str],
    bodies: list[Body],
    timer: Timer,
    gap: float,
    *,
    retry: bool = False,
) -> Pass:
    """Each body sent directly (urls[0]) and through the proxy (urls[1]), alternately first;
    with `retry`, sent through the proxy once untimed just before."""
    result = Pass([], [])
    for index, body in enumerate(bodies):
        if retry:
            timer(client, urls[1], body)
        order = [(urls[0], result.direct), (urls[1], result.proxied)]
        for url, out in order if index % 2 == 0 else order[::-1]:
            out.append(timer(client, url, body))
        if gap:
            time.sleep(gap)
    return result


@dataclasses.dataclass(frozen=True)
class ProxyCounts:
    """What the proxy has counted so far: its lookups (count, total ms) and its counters."""

    lookups: int
    lookup_ms: float
    counters: dict[str, int]


Endpoints = tuple[str, str, Callable[[], ProxyCounts]]  # upstream, proxy, the proxy's counts


@contextlib.contextmanager
def in_process(memory: PatternMemory, budget_seconds: float) -> Iterator[Endpoints]:
    """The stub and the proxy served by this process (with the bench's client)."""
    with serve(stub_app(Stub(answer=STUB_ANSWER))) as upstream:
        config = ProxyConfig(upstream, memory.settings, 30.0, budget_seconds)
        app = create_app(config, memory, forge_model())  # as `pattern-memory proxy` runs it
        metrics = app.state.proxy.metrics

        def counts() -> ProxyCounts:
            lookups = metrics.lookup_ms
            return ProxyCounts(lookups.observed, lookups.total, dict(metrics.counters))

        with serve(app) as proxy:
            yield upstream, proxy, counts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with status {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not answer {url} within 120 s")
        time.sleep(0.1)


def parse_metrics(text: str) -> ProxyCounts:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    counters = {name: int(v) for name, v in values.items() if name.endswith("_total")}
    return ProxyCounts(
        int(values["patterns_lookup_ms_count"]), values["patterns_lookup_ms_sum"], counters
    )


@contextlib.contextmanager
def in_processes(db: Path, forge: bool, budget_seconds: float) -> Iterator[Endpoints]:
    """The stub in a process of its own, the proxy as the real `pattern-memory proxy`."""
    stub_port, proxy_port = free_port(), free_port()
    upstream, proxy = f"http://127.0.0.1:{stub_port}", f"http://127.0.0.1:{proxy_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stub = (
        "import uvicorn\n"
        "from tests.assist.proxy_harness import Stub, stub_app\n"
        f"uvicorn.run(stub_app(Stub(answer={STUB_ANSWER!r})), host='127.0.0.1', "
        f"port={stub_port}, log_level='warning', access_log=False)\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "proxy.yaml"
        config.write_text(f"patterns:\n  forgeOnSuccess: {str(forge).lower()}\n")
        log = (Path(scratch) / "proxy.log").open("wb")
        command = [
            *(sys.executable, "-m", "pattern_memory", "proxy", "--upstream", upstream),
            *("--port", str(proxy_port), "--db", str(db), "--config", str(config)),
            *("--lookup-budget-ms", str(budget_seconds * 1000)),
        ]
        children = [subprocess.Popen([sys.executable, "-c", stub], env=env, cwd=ROOT)]
        try:
            children.append(subprocess.Popen(command, env=env, stderr=log, cwd=ROOT))
            wait_until_up(upstream + "/v1/models", children[0], "the stub upstream")
            wait_until_up(proxy + "/health", children[1], "pattern-memory proxy")

            def counts() -> ProxyCounts:
                return parse_metrics(httpx.get(proxy + "/metrics", timeout=10).text)

            yield upstream, proxy, counts
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
            log.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between messages")
    parser.add_argument("--no-forge", action="store_true", help="forgeOnSuccess: false")
    parser.add_argument("--budget-ms", type=float, default=60_000.0, help="lookup budget")
    parser.add_argument(
        "--processes", action="store_true", help="stub and proxy in processes of their own"
    )
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    started = time.perf_counter()
    memory = build_store(db, args.patterns)
    if args.no_forge:
        memory.settings = dataclasses.replace(memory.settings, forge_on_success=False)
    print(f"store: {memory.stats().patterns} patterns ({time.perf_counter() - started:.1f} s)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    headers = {"Authorization": "Bearer bench", "X-Pattern-Memory-User": "bench"}
    count, gap, budget = args.requests, args.gap_ms / 1000, args.budget_ms / 1000
    endpoints = (
        in_processes(db, not args.no_forge, budget)
        if args.processes
        else in_process(memory, budget)
    )
    client = httpx.Client(headers=headers, timeout=30)
    with endpoints as (upstream, proxy, counts), client:
        urls = (upstream + "/v1/chat/completions", proxy + "/v1/chat/completions")
        run_pass(client, urls, short_messages("warm", 10), plain, gap)
        before = counts()
        plain_bodies = short_messages("plain", count)
        passes = {
            "plain": run_pass(client, urls, plain_bodies, plain, gap),
            "stream": run_pass(client, urls, short_messages("stream", count), first_byte, gap),
        }
        after = counts()
        lookup_mean = (after.lookup_ms - before.lookup_ms) / max(1, after.lookups - before.lookups)
        repeated = short_messages("repeated", count)
        passes["repeated"] = run_pass(client, urls, repeated, plain, gap, retry=True)
        passes["long"] = run_pass(client, urls, long_messages(max(10, count // 4)), plain, gap)
        counters = counts().counters
    model_short = model_p50(memory, short_messages("model", count))
    model_long = model_p50(memory, long_messages(max(10, count // 4)))
    memory.close()
    print(f"stub and proxy: {'processes of their own' if args.processes else 'this process'}")
    print(passes["plain"].line("plain", 10))
    print(passes["stream"].line("stream first byte", 5))
    print(passes["repeated"].line("repeated messages", None))
    print(passes["long"].line(f"long messages (~{LONG_WORDS} words)", None))
    print(
        f"memory lookup mean {lookup_mean:.2f} ms (plain + stream passes); "
        f"patterns injected {counters['patterns_injected_total']}, "
        f"lookups over budget {counters['proxy_lookup_timeouts_total']}, "
        f"skipped {counters['proxy_lookups_skipped_total']}, "
        f"memory errors {counters['proxy_memory_errors_total']}"
    )
    print(
        f"the model alone (the floor of a lookup that embeds its query): p50 {model_short:.2f} ms"
        f" per short message, {model_long:.2f} ms per long one"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if passes["plain"].added <= 10 and passes["stream"].added <= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
