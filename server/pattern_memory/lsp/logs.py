"""Python logging forwarded to the client's `window/logMessage` (errors to stderr too)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from .server import PatternMemoryServer

_LEVELS = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)


class ClientLogHandler(logging.Handler):
    """Sends records to the client as `window/logMessage`, from whichever thread logged."""

    def __init__(self, server: PatternMemoryServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            kind = next((k for level, k in _LEVELS if record.levelno >= level), None)
            if kind is None:
                return
            params = types.LogMessageParams(type=kind, message=self.format(record))
            self.server.call_soon(self.server.window_log_message, params)
        except Exception:  # a log line must never take the server down
            self.handleError(record)


class _AnsweredParseErrors(logging.Filter):
    """pygls logs a frame that is not JSON with a traceback (at ERROR, so on stderr); the
    server answers it with -32700 and logs one line of its own (lsp/server.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.name.startswith("pygls")
            and isinstance(error, ValueError | RecursionError)
            and record.getMessage() == "Unable to handle message"
        )


def configure_logging(server: PatternMemoryServer) -> None:
    """Our records from INFO up go to the client with their level; stderr gets our errors
    only, because editors log a server's stderr as errors (Neovim's lsp.log writes every
    stderr line as `[ERROR]`). pygls' chatter (it logs every message body at INFO) only
    when it is a warning."""
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.ERROR)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    ours = logging.getLogger("pattern_memory")
    ours.setLevel(logging.INFO)
    ours.propagate = False
    ours.addHandler(stderr)
    ours.addHandler(ClientLogHandler(server))
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_AnsweredParseErrors())
