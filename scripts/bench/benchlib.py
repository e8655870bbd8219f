"""What the benchmarks share: a command's wall time and peak memory (sampled from Linux
/proc while it runs), and a repository's commit count."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def process_rss(pid: int) -> tuple[int, int]:
    """(bytes resident in the process alone, in the process and all its descendants);
    (0, 0) once the process is gone."""
    own = total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                size = int(line.split()[1]) * 1024
                total += size
                own = size if current == pid else own
        pending.extend(int(child) for child in children)
    return own, total


@dataclass(frozen=True)
class SampledRun:
    seconds: float
    peak_own: int  # bytes, the process alone
    peak_tree: int  # bytes, the process and its descendants together
    returncode: int
    stdout: str
    stderr: str


def run_sampled(
    command: list[str], env: dict[str, str] | None = None, *, keep_stdout: bool = True
) -> SampledRun:
    """Run `command` to the end, sampling its resident memory every 10 ms. Without
    `keep_stdout` its output goes to /dev/null (a floor such as `git log -p` must not pay
    for us reading it)."""
    peak_own = peak_tree = 0
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_own, peak_tree
        while not done.is_set():
            own, tree = process_rss(process.pid)
            peak_own, peak_tree = max(peak_own, own), max(peak_tree, tree)
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return SampledRun(seconds, peak_own, peak_tree, process.returncode, out or "", err)


def commit_count(repo: Path) -> int:
    """Commits reachable from HEAD."""
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)
