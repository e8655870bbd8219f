"""The C library functions we call through ctypes (Linux; glibc's mallopt, sync_file_range,
prctl), looked up in one place. Elsewhere they are None and callers do without them."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

LibcFunction = Callable[..., int]


def libc_function(name: str, argtypes: list[Any]) -> LibcFunction | None:
    """`name` from the C library this process already runs on, typed (int result); None
    when there is no such function here."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    found: LibcFunction = function
    return found
