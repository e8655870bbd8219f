"""The editor's read path in process: one cold analysis of bench_lsp.py's document.

A fresh FixFinder (no cached lookups, tokens or templates) finds the learned fixes in the
1,000-line document with 5 planted renamed bugs, on bench_lsp's synthetic store (built
there when missing): every window looked up (search_code), tokenized, and every candidate's
template read (stored with the pattern since issue 14) and located. The store stays open
between rounds, as the language server's does. No indexer runs, so the figure is the
analysis alone; `bench_lsp.py` measures it in the server, while indexing.

Floor: tokenizing the same document once per window with matching.tokenize (pure Python,
unchanged by the read path's work), interleaved round by round; the ratio is what to
compare across runs on a loaded machine.

Usage: python scripts/bench/bench_read_path.py [--size 10000] [--rounds 7] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

# The test helpers are the `tests` package at the repository root, which running a script
# does not put on the path (only the script's own folder): put it there once.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_lsp import bench_document, build_store, synthetic_patterns

from pattern_memory.matching.finder import FixFinder
from pattern_memory.matching.tokens import tokenize
from pattern_memory.matching.windows import split_windows
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pattern-memory-bench-lsp"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / f"store-{args.size}.db"
    if not store.exists():
        build_store(store, args.size)
    db = args.work / f"read-path-{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(str(store) + suffix).exists():
            shutil.copy(Path(str(store) + suffix), Path(str(db) + suffix))
    text, _ = bench_document(synthetic_patterns(args.size)[:200])
    settings = Settings(db_path=db)
    # search_code never embeds: a stand-in embedder keeps the model out of the process.
    memory = PatternMemory.open(settings, HashEmbedder())
    try:
        finds: list[float] = []
        floors: list[float] = []
        signatures: set[str] = set()
        for round_ in range(args.rounds + 1):
            started = time.perf_counter()
            for window in split_windows(text):
                tokenize(window.text, "python")
            floor = time.perf_counter() - started
            started = time.perf_counter()
            fixes = FixFinder.create().find(memory, settings, text, language="python", path="m.py")
            found = time.perf_counter() - started
            signatures.add(
                hashlib.sha256(
                    repr(
                        sorted((f.pattern_id, f.match.start, f.match.end, f.shown) for f in fixes)
                    ).encode()
                ).hexdigest()[:12]
            )
            if round_:  # the first round warms the page cache and the shape check
                finds.append(found * 1000)
                floors.append(floor * 1000)
        ratios = [f / g for f, g in zip(finds, floors, strict=True)]
        print(
            f"load {os.getloadavg()[0]:.1f}; {args.size:,} patterns; {len(fixes)} fixes "
            f"(signature {', '.join(sorted(signatures))})"
        )
        print(
            f"cold analysis: median {statistics.median(finds):.0f} ms; floor (tokenize the "
            f"windows) median {statistics.median(floors):.1f} ms; analysis / floor: median "
            f"{statistics.median(ratios):.0f}x, min {min(ratios):.0f}x over {args.rounds} rounds"
        )
    finally:
        memory.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
