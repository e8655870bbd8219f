"""A size cap on LSP frames read from standard input.

pygls reads a frame by calling `stdin.read(Content-Length)`, which reserves the declared length
before reading: 2^60 raises MemoryError, 10^30 OverflowError, and 4-16 GiB hold that memory while
waiting. This wrapper is what `start_io(stdin=...)` reads from: a frame declared larger than
MAX_FRAME_BYTES is refused (logged), replaced by a harmless notification, and the reader resyncs
on the next `Content-Length:` header.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

MAX_FRAME_BYTES = 64 * 1024 * 1024
# An unknown `$/` notification: pygls ignores it without answering.
_DROPPED = b'{"jsonrpc": "2.0", "method": "$/patternMemory/droppedFrame"}'
_HEADER = b"Content-Length:"
log = logging.getLogger(__name__)


class CappedStdin:
    """The `readline`/`read` pygls' stdin reader calls, with frames above the cap skipped."""

    def __init__(self, stream: BinaryIO, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.stream = stream
        self.max_frame = max_frame
        self.resyncing = False

    def readline(self) -> bytes:
        line = self.stream.readline(self.max_frame)
        if not self.resyncing or not line:
            return line
        # The refused body follows its header: skip it up to the next frame's header.
        start = line.find(_HEADER)
        if start < 0:
            return b"\r\n"  # a blank line outside a frame is ignored by pygls
        self.resyncing = False
        return line[start:]

    def read(self, size: int) -> bytes:
        if size <= self.max_frame:
            return self.stream.read(size)
        log.error(
            "refused a frame declaring Content-Length %d (the limit is %d bytes); skipping it",
            size,
            self.max_frame,
        )
        self.resyncing = True
        return _DROPPED
