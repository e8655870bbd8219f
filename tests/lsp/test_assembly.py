"""How the server is put together (lsp/app.py): the server class imports no feature, and
create_server registers every command and feature from its one list."""

from __future__ import annotations

import subprocess
import sys

from lsprotocol import types

from pattern_memory.lsp.app import create_server
from pattern_memory.lsp.arguments import CommandArguments, SearchArguments, arguments_class
from tests.fakes import HashEmbedder

FEATURE_MODULES = (
    "analysis",
    "app",
    "code_actions",
    "execute",
    "hover",
    "indexing",
    "lifecycle",
    "sync",
    "team_sync",
)


def test_the_server_class_imports_no_feature() -> None:
    # A fresh interpreter (in this one the features are loaded already), and a server made:
    # its parts used to be imported by its constructor.
    code = (
        "import sys, pattern_memory.lsp.server as s\n"
        "s.PatternMemoryServer().stop_workers()\n"
        f"print(' '.join(m for m in {FEATURE_MODULES!r} "
        "if 'pattern_memory.lsp.' + m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_create_server_registers_every_command_and_feature() -> None:
    server = create_server(HashEmbedder())
    try:
        commands = server.protocol.fm.commands
        assert set(commands) == {
            "patternMemory.indexWorkspace",
            "patternMemory.search",
            "patternMemory.get",
            "patternMemory.forge",
            "patternMemory.injectBlock",
            "patternMemory.feedback",
            "patternMemory.stats",
            "patternMemory.sync",
        }
        # Each command's arguments class, as the protocol hands it to pygls.
        assert arguments_class(commands["patternMemory.search"]) is SearchArguments
        assert arguments_class(commands["patternMemory.stats"]) is CommandArguments
        features = server.protocol.fm.features
        for method in (
            types.INITIALIZE,
            types.INITIALIZED,
            types.WORKSPACE_DID_CHANGE_CONFIGURATION,
            types.SHUTDOWN,
            types.TEXT_DOCUMENT_DID_OPEN,
            types.TEXT_DOCUMENT_HOVER,
            types.TEXT_DOCUMENT_CODE_ACTION,
        ):
            assert method in features, method
        assert server.analysis.server is server and server.team_sync.server is server
    finally:
        server.abandon_work()
