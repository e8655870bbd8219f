"""Resident memory of a running process, read from Linux /proc (shared by the benchmarks,
which sample it while the measured command runs)."""

from __future__ import annotations

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
