#!/usr/bin/env python3
"""Benchmark `pattern-memory extract` against the floor of reading the same history with one
`git log -p --no-renames` (output discarded), both measured in this run.

    python scripts/bench/bench_mining.py REPO [--runs 3]

Prints commits/s and patterns/s of extract, the ratio extract time / git log time (target:
at most 3), the same ratio in CPU time (all processes; less sensitive to other load), and
the peak memory of the extract process tree (target: under 200 MB), sampled
from /proc every 10 ms. Each figure is the median over the runs (floor and extract
interleaved, so that other load on the machine hits both alike).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import commit_count, run_sampled

ROOT = Path(__file__).resolve().parents[2]


def _run_sampled(
    command: list[str],
) -> tuple[float, int, int, subprocess.CompletedProcess[str]]:
    """Wall time, peak RSS of the process and of its whole tree, and the result."""
    cpu_before = _children_cpu()
    run = run_sampled(command, keep_stdout=False)
    _CPU_SECONDS.append(_children_cpu() - cpu_before)
    result = subprocess.CompletedProcess(command, run.returncode, "", run.stderr)
    return run.seconds, run.peak_own, run.peak_tree, result


# CPU seconds (user + system) of each command run, with every process it started: less
# sensitive than wall time to other load on the machine.
_CPU_SECONDS: list[float] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = args.repo.resolve()
    commits = commit_count(repo)
    floors: list[float] = []
    times: list[float] = []
    peaks: list[int] = []
    python_peaks: list[int] = []
    floor_cpus: list[float] = []
    extract_cpus: list[float] = []
    patterns = 0
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "patterns.jsonl"
        command = [
            sys.executable, "-m", "pattern_memory", "extract",
            "--repo-path", str(repo), "--output", str(output), "--no-progress",
        ]  # fmt: skip
        floor_command = ["git", "-C", str(repo), "log", "-p", "--no-renames"]
        floor_peak = 0
        for _ in range(args.runs):
            floor_seconds, _, floor_tree, floor_result = _run_sampled(floor_command)
            floor_cpus.append(_CPU_SECONDS[-1])
            floor_result.check_returncode()
            floors.append(floor_seconds)
            floor_peak = max(floor_peak, floor_tree)
            elapsed, python_peak, peak, result = _run_sampled(command)
            extract_cpus.append(_CPU_SECONDS[-1])
            if result.returncode != 0:
                sys.stderr.write(result.stderr)
                return 1
            times.append(elapsed)
            peaks.append(peak)
            python_peaks.append(python_peak)
            with output.open("rb") as stream:
                patterns = sum(1 for _ in stream)
    floor, elapsed, peak = statistics.median(floors), statistics.median(times), max(peaks)
    ratio = elapsed / floor
    print(f"repository: {repo} ({commits} commits)")
    print(f"git log -p --no-renames: {floor:.2f} s ({commits / floor:,.0f} commits/s)  [floor]")
    print(
        f"pattern-memory extract:  {elapsed:.2f} s ({commits / elapsed:,.0f} commits/s, "
        f"{patterns / elapsed:,.0f} patterns/s, {patterns} patterns)"
    )
    print(f"ratio extract / git log: {ratio:.2f}x (target <= 3x)")
    floor_cpu, extract_cpu = statistics.median(floor_cpus), statistics.median(extract_cpus)
    print(
        f"CPU time (all processes): git log {floor_cpu:.2f} s, extract {extract_cpu:.2f} s, "
        f"ratio {extract_cpu / floor_cpu:.2f}x"
    )
    print(
        f"peak memory: {peak / 2**20:.0f} MB for extract and its git processes together "
        f"(target < 200 MB), {max(python_peaks) / 2**20:.0f} MB for the Python process; "
        f"git log -p alone: {floor_peak / 2**20:.0f} MB"
    )
    print(f"runs: {args.runs}, medians; all times: floor {floors}, extract {times}")
    return 0 if ratio <= 3 and peak < 200 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main())
