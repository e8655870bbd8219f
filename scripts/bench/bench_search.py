#!/usr/bin/env python3
"""Benchmark the local pattern memory: lookups at 10k and 100k patterns beside sqlite-vec's
own KNN on the same vectors, and indexing a real history (throughput, peak memory,
incremental re-index after one new commit).

    python scripts/bench/bench_search.py [--sizes 10000 100000] [--queries 300] [--repo DIR]

Lookups use synthetic patterns (clustered 384-d unit vectors, code-like token text): they
measure the index, not the model. Figures, each beside its floor from the same run:
- vector top-5: our in-memory index vs. `vec0 MATCH ... AND k = 5` (exact brute force in
  sqlite-vec) on the same vectors: p50/p95 and the speed-up; top-5 agreement with exact search.
- hybrid search (lexical + vector + filters, query already embedded) p50/p95.
- cold start: building the in-memory index from the database.
With --repo (a git repository, e.g. a clone of pallets/click): `pattern-memory index` in a
fresh database (patterns/s end to end, model load and embedding included; peak memory of
the process) beside the bare model embedding the same texts; then one new commit and the
incremental re-index, in a warm process (model loaded, as in the language server) and as a
fresh CLI run, beside the floor of a CLI run that opens the database without the model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import commit_count, run_sampled

from pattern_memory.memory.db import Database
from pattern_memory.memory.filters import Filters, Scope
from pattern_memory.memory.lifecycle import Decay
from pattern_memory.memory.search import HybridSearch, Query
from pattern_memory.memory.store import PatternStore
from pattern_memory.memory.vectors import VectorIndex
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id

DIM = 384
MODEL = "synthetic-384"
CHUNK = 5000
WORDS = [
    f"{a}{b}"
    for a in ("get", "set", "load", "parse", "read", "make", "check", "run")
    for b in (
        "_config",
        "_user",
        "_path",
        "_item",
        "_token",
        "_page",
        "_cache",
        "_file",
        "Value",
        "Name",
        "Index",
        "Count",
        "Stream",
        "Error",
        "Option",
        "Handler",
    )
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(samples), [50, 95])
    return float(p50), float(p95)


def _synthetic_patterns(n: int, rng: np.random.Generator) -> list[tuple[Pattern, str]]:
    out = []
    for i in range(n):
        words = [WORDS[j] for j in rng.integers(0, len(WORDS), 6)]
        before = f"def {words[0]}_{i}(x):\n    return {words[1]}(x) + {words[2]}(x)\n"
        after = f"def {words[0]}_{i}(x):\n    return {words[1]}(x) + {words[3]}(x)\n"
        message = f"Fix {words[4]} in {words[5]} handling #{i}"
        pattern = Pattern(
            pattern_id=make_pattern_id("bench", str(i)),
            problem_type=ProblemType.BUG_FIX,
            before_code=before,
            after_code=after,
            commit_msg=message,
            author="bench",
            date="2024-01-01 00:00:00",
            confidence=0.8,
            file_path=f"src/{words[5]}.py",
        )
        out.append((pattern, message))
    return out


def _embedding_like_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings: topics, and a power-law spectrum (a
    few directions carry most of the variance) in a random rotation."""
    spectrum = (np.arange(1, DIM + 1) ** -0.6).astype(np.float32)
    rotation = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    topics = rng.standard_normal((max(1, n // 300), DIM)).astype(np.float32) * spectrum
    noise = 0.8 * rng.standard_normal((n, DIM)).astype(np.float32) * spectrum
    vectors = (topics[rng.integers(0, len(topics), n)] + noise) @ rotation.T
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _fill(store: PatternStore, items: list[tuple[Pattern, str]], vectors: np.ndarray) -> None:
    size = len(items)
    for start in range(0, size, CHUNK):
        store.upsert(items[start : start + CHUNK], "local", "2026-01-01 00:00:00")
    row_ids = [r[0] for r in store.db.query("SELECT id FROM patterns ORDER BY id")]
    hashes = [r[0] for r in store.db.query("SELECT lookup_hash FROM patterns ORDER BY id")]
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        store.vectors.save_vectors(
            MODEL, DIM, [(row_ids[i], hashes[i], vectors[i].tobytes()) for i in range(start, stop)]
        )


def bench_lookup(size: int, queries: int, workdir: Path) -> None:
    rng = np.random.default_rng(size)
    store = PatternStore(Database(workdir / f"lookup-{size}.db"))
    if not store.db.vec_available:
        sys.exit("sqlite-vec did not load: the baseline needs it")
    started = time.perf_counter()
    items = _synthetic_patterns(size, rng)
    # Queries are held-out draws from the same distribution, not copies of stored vectors.
    vectors = _embedding_like_vectors(size + queries, rng)
    query_vectors, vectors = vectors[size:], vectors[:size]
    _fill(store, items, vectors)
    fill_s = time.perf_counter() - started

    index = VectorIndex(store.vectors)
    started = time.perf_counter()
    index.refresh()
    cold_ms = (time.perf_counter() - started) * 1000

    picks = rng.integers(0, size, queries)  # patterns whose code the hybrid queries use
    scope = Scope("local", include_team=False)

    ours: list[float] = []
    theirs: list[float] = []
    agree = 0
    for query in query_vectors:  # interleaved, so that load on the machine hits both alike
        t0 = time.perf_counter()
        mine = index.nearest(query, 5, scope)
        t1 = time.perf_counter()
        exact = store.vectors.vec_knn(query.tobytes(), 5)
        t2 = time.perf_counter()
        ours.append((t1 - t0) * 1000)
        theirs.append((t2 - t1) * 1000)
        agree += [r for r, _ in mine] == [r for r, _ in exact]

    search = HybridSearch(store, index)
    hybrid: list[float] = []
    # Decay on, as the product runs (90 days on each pattern's clock).
    filters = Filters(scope=scope, decay=Decay(90, "2025-01-01 00:00:00"), min_success_rate=0.6)
    for number, query in enumerate(query_vectors[: min(queries, 200)]):
        text = items[int(picks[number])][0].before_code
        q = Query(text=text, filters=filters, k=5, similarity=0.0)
        t0 = time.perf_counter()
        search.search(q, query)
        hybrid.append((time.perf_counter() - t0) * 1000)

    o50, o95 = _percentiles(ours)
    t50, t95 = _percentiles(theirs)
    h50, h95 = _percentiles(hybrid)
    print(f"\n== lookup, {size:,} patterns (filled in {fill_s:.1f} s) ==")
    print(f"  sqlite-vec KNN top-5 (floor): p50 {t50:7.2f} ms  p95 {t95:7.2f} ms")
    print(f"  in-memory index top-5:       p50 {o50:7.2f} ms  p95 {o95:7.2f} ms")
    print(f"  speed-up vs sqlite-vec:      p50 {t50 / o50:5.1f}x   p95 {t95 / o95:5.1f}x")
    print(f"  top-5 equal to exact search: {agree / queries:.1%} of {queries} queries")
    print(
        f"  hybrid search (lexical + vector + filters, query embedded): "
        f"p50 {h50:.2f} ms  p95 {h95:.2f} ms ({h95 / t95:.2f}x the sqlite-vec p95)"
    )
    print(f"  cold start (index built from the database): {cold_ms:.0f} ms")
    store.db.close()


def _cli(args: list[str], db: Path) -> tuple[float, int, str]:
    """Wall time, peak memory of the process tree, stdout of `pattern-memory ARGS`."""
    env = {**os.environ, "PATTERN_MEMORY_DB_PATH": str(db)}
    run = run_sampled([sys.executable, "-m", "pattern_memory", *args], env=env)
    if run.returncode != 0:
        sys.exit(f"pattern-memory {' '.join(args)} failed: {run.stderr.strip()}")
    return run.seconds, run.peak_tree, run.stdout


def _new_commit(repo: Path, number: int) -> None:
    target = repo / f"bench_fix_{number}.py"
    target.write_text(f"def value():\n    return {number}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "Add bench helper"], check=True)
    target.write_text(f"def value():\n    return {number + 1}\n", encoding="utf-8")
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "commit",
            "-q",
            "-am",
            f"Fix wrong value in bench helper {number}",
        ],
        check=True,
    )


def bench_index(source_repo: Path, workdir: Path) -> None:
    from pattern_memory.indexing import index_repository
    from pattern_memory.memory.embedder import load_embedder
    from pattern_memory.memory.service import PatternMemory
    from pattern_memory.settings import Settings

    repo = workdir / "repo"
    subprocess.run(["git", "clone", "-q", str(source_repo), str(repo)], check=True)
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
    commits = commit_count(repo)
    # The texts the index will embed, from a first run into a scratch database; the floor
    # (the bare model on them) is measured before and after the timed run, and the ratio
    # uses their mean, so that a change of load on the machine hits both sides alike.
    scratch = workdir / "scratch.db"
    _cli(["index", "--no-progress", str(repo)], scratch)
    store = PatternStore(Database(scratch))
    texts = sorted({r[0] for r in store.db.query("SELECT lookup_text FROM patterns")})
    store.db.close()
    embedder = load_embedder()
    started = time.perf_counter()
    embedder.embed(["warm up"])
    load_s = time.perf_counter() - started

    def floor() -> float:
        started = time.perf_counter()
        embedder.embed(texts)
        return time.perf_counter() - started

    before = floor()
    db = workdir / "index.db"
    elapsed, peak, out = _cli(["index", "--no-progress", str(repo)], db)
    after = floor()
    patterns = PatternStore(Database(db)).db.query("SELECT count(*) FROM patterns")[0][0]
    embed_s = (before + after) / 2

    print(f"\n== index {source_repo.name}: {commits:,} commits -> {patterns:,} patterns ==")
    print("  " + out.strip().splitlines()[0])
    print(
        f"  end to end (fresh CLI process, model load included): {elapsed:.1f} s, "
        f"{patterns / elapsed:.0f} patterns/s"
    )
    print(
        f"  floor, the bare model on the same {len(texts):,} distinct texts: {before:.1f} s "
        f"before, {after:.1f} s after ({len(texts) / embed_s:.0f} texts/s; model load "
        f"{load_s:.1f} s); index / floor = {elapsed / (embed_s + load_s):.2f}"
    )
    print(f"  peak memory of the index process: {peak / 2**20:.0f} MB")

    memory = PatternMemory.open(Settings(db_path=db), embedder)
    warm: list[float] = []
    for number in range(3):
        _new_commit(repo, number)
        started = time.perf_counter()
        report = index_repository(memory, repo)
        warm.append(time.perf_counter() - started)
        assert report.commits_read == 2, report
    memory.close()
    _new_commit(repo, 99)
    cold, _, _ = _cli(["index", "--no-progress", str(repo)], db)
    stats_s, _, _ = _cli(["stats"], db)
    print(
        f"  incremental re-index after 2 new commits (a file added, then fixed), warm "
        f"process (model loaded): "
        f"median {statistics.median(warm) * 1000:.0f} ms of {[round(w * 1000) for w in warm]}"
    )
    print(
        f"  same as a fresh CLI run: {cold:.2f} s; floor, `pattern-memory stats` "
        f"(start, open the database, no model): {stats_s:.2f} s; model load {load_s:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repo", type=Path, help="a git repository to index")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"numpy {np.__version__}"
    )
    try:
        for size in args.sizes:
            bench_lookup(size, args.queries, workdir)
        if args.repo:
            bench_index(args.repo.resolve(), workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
