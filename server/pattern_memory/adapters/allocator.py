"""Keep the C heap's freed blocks for reuse during a merge (glibc only).

A merge allocates and frees a few arrays of 0.1-1 MB per module. glibc hands blocks over
128 KB back to the kernel when they are freed (and trims the heap's top above 2x that), so
every module's arrays were fresh pages: about 60,000 page faults per merge of three 80 MB
adapters, a third of `linear`'s CPU time. Raising the two thresholds keeps those blocks in
the heap. The setting is process-wide and permanent (glibc has no way to read the previous
values back); it costs at most the thresholds' worth of freed memory kept mapped. Someone
who set MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ / GLIBC_TUNABLES keeps theirs.
"""

from __future__ import annotations

import ctypes
import os
import sys

from ..libc import libc_function

# mallopt parameters from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 << 20  # larger than any array a merge of LLM-sized adapters makes
TRIM_THRESHOLD = 64 << 20

_done = False


def reuse_freed_memory() -> None:
    """Raise glibc's mmap and trim thresholds, once per process; nothing elsewhere."""
    global _done  # noqa: PLW0603 - a process-wide, set-once switch
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    if any(
        name in os.environ
        for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    ):
        return
    mallopt = libc_function("mallopt", [ctypes.c_int, ctypes.c_int])
    if mallopt is None:  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
