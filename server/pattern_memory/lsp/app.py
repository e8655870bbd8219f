"""The language server assembled: the server, its parts, and every feature it offers.

As esbonio's `create_language_server` does, the server class holds state only and the
features are registered here, from one explicit list; feature modules know the server's
type only for typing, so nothing in lsp/ imports this module but the `serve` command."""

from __future__ import annotations

from collections.abc import Callable

from ..memory.embedder import Embedder
from . import code_actions, execute, hover, lifecycle, sync, team_sync
from .analysis import DocumentAnalyzer
from .indexing import BackgroundIndexer
from .server import PatternMemoryServer
from .team_sync import TeamSync

Feature = Callable[[PatternMemoryServer], None]

# In registration order: the lifecycle first, commands last.
FEATURES: tuple[Feature, ...] = (
    lifecycle.register,  # initialize, configuration, shutdown
    sync.register,  # document open / change / close
    hover.register,
    code_actions.register,
    execute.register,  # workspace/executeCommand: patternMemory.*
    team_sync.register,  # patternMemory.sync
)


def create_server(embedder: Embedder | None = None) -> PatternMemoryServer:
    """A server with its parts and every feature registered."""
    server = PatternMemoryServer(embedder)
    server.analysis = DocumentAnalyzer(server)
    server.indexer = BackgroundIndexer(server)
    server.team_sync = TeamSync(server)
    for register in FEATURES:
        register(server)
    return server
