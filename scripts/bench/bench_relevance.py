#!/usr/bin/env python3
"""Relevance of the hybrid search on a real history, for the lookup text we embed against
the session-1 one (160 characters of message + 160 of the changed lines as written).

Mines the repository, stores every pattern twice (one fresh database per lookup text, the
real model), then asks the hybrid search (the product's path, `similarity` 0 so that the
rank alone counts) for N random bug fixes, two ways: with the fix's before-code (what the
editor sends) and with the first 6 words of its message (a short description of the
problem). Prints top-1/5/10 hit rates and how fast each text embeds (patterns/s through
`add_patterns`, storing included).

Usage: python scripts/bench/bench_relevance.py --repo PATH [--queries 150] [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

from pattern_memory.memory.embedder import FastEmbedEmbedder  # noqa: E402
from pattern_memory.memory.service import PatternMemory  # noqa: E402
from pattern_memory.memory.text import changed_lines, lookup_text  # noqa: E402
from pattern_memory.mining import MineOptions, mine_commits  # noqa: E402
from pattern_memory.patterns import Pattern, ProblemType  # noqa: E402
from pattern_memory.settings import Settings  # noqa: E402


def session_one_text(pattern: Pattern) -> str:
    """The lookup text before session 2: message and changed lines as written."""
    message = " ".join(pattern.commit_msg.split())[:160]
    if not pattern.before_code.strip():
        return message
    change = " ".join(" ".join(changed_lines(pattern.before_code, pattern.after_code)).split())
    return f"{message}\n{change[:160]}".strip()


QUERIES: dict[str, Callable[[Pattern], str]] = {
    "before-code": lambda p: p.before_code,
    "message, 6 words": lambda p: " ".join(p.commit_msg.split()[:6]),
}


def evaluate(
    name: str,
    text_of: Callable[[Pattern], str],
    patterns: list[Pattern],
    sample: list[Pattern],
    embedder: FastEmbedEmbedder,
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-relevance-") as folder:
        settings = dataclasses.replace(
            Settings(),
            db_path=Path(folder) / "patterns.db",
            similarity=0.0,
            min_success_rate=0.0,
            decay_after_days=0,
        )
        with PatternMemory.open(settings, embedder) as memory:
            started = time.perf_counter()
            memory.add_patterns(patterns, lookup_texts=[text_of(p) for p in patterns])
            rate = len(patterns) / (time.perf_counter() - started)
            rows = []
            for query_name, query_of in QUERIES.items():
                ranks = []
                for pattern in sample:
                    found = [
                        h.stored.pattern.solution_hash
                        for h in memory.search(query_of(pattern), k=10)
                    ]
                    want = pattern.solution_hash
                    ranks.append(found.index(want) if want in found else 10)
                hits = [sum(r < k for r in ranks) / len(ranks) for k in (1, 5, 10)]
                rows.append(
                    f"{query_name}: top-1 {hits[0]:.2f} top-5 {hits[1]:.2f} top-10 {hits[2]:.2f}"
                )
    print(f"{name:<28}{rate:6.0f} patterns/s | " + " | ".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    patterns = [p for mined in mine_commits(args.repo, MineOptions()) for p in mined.patterns]
    fixes = [p for p in patterns if p.problem_type is ProblemType.BUG_FIX and p.before_code.strip()]
    sample = random.Random(args.seed).sample(fixes, min(args.queries, len(fixes)))
    print(
        f"{args.repo}: {len(patterns)} patterns, {len(fixes)} bug fixes with before-code; "
        f"{len(sample)} queries of each kind, seed {args.seed}"
    )
    embedder = FastEmbedEmbedder()
    embedder.load()
    evaluate("current lookup text", lookup_text, patterns, sample, embedder)
    evaluate("session-1 text (160 + 160)", session_one_text, patterns, sample, embedder)


if __name__ == "__main__":
    main()
