from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.lsp.lsphelp import (
    LONG_HISTORY,
    RENAMED_DOC,
    build_long_history,
    diagnostics_for,
    eventually,
    execute,
    indexed,
    initialize,
    open_document,
)


def _write_raw(lsp: LanguageClient, body: bytes) -> None:
    """Bytes straight onto the server's stdin, framed as a message."""
    assert lsp._server is not None and lsp._server.stdin is not None
    lsp._server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def test_keeps_answering_after_malformed_messages(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False})
    _write_raw(lsp, b'{"jsonrpc": "2.0", "id": 99, "method": "textDocument/hov')  # cut short
    _write_raw(lsp, b'{"jsonrpc": "2.0", "id": 100, "method": "no/suchMethod", "params": {}}')
    _write_raw(lsp, b'{"jsonrpc": "2.0", "id": 101, "method": "textDocument/hover", "params": 7}')
    _write_raw(lsp, b"\xff\xfe not even text")
    stats = await execute(lsp, "patternMemory.stats")
    assert stats["patterns"] == 0


async def test_a_10_mb_document_is_not_analysed_and_hover_stays_fast(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo)
    await indexed(lsp)
    huge_uri = (fix_repo / "huge.py").as_uri()
    line = "value_%d = compute(value_%d) + 1  # padding padding padding\n"
    huge = "".join(line % (n, n) for n in range(170_000))
    assert len(huge) > 10_000_000
    open_document(lsp, huge_uri, huge)
    await diagnostics_for(lsp, huge_uri, lambda found: len(found) == 0)
    assert await eventually(
        lambda: [m for m in lsp.log_messages if "huge.py" in m.message and "analysed" in m.message],
        "the size cap logged",
    )
    # A normal document next to it is still analysed, and hover answers at once.
    uri = (fix_repo / "app" / "accounts.py").as_uri()
    open_document(lsp, uri, RENAMED_DOC)
    await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    started = time.perf_counter()
    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=huge_uri),
            position=types.Position(line=100_000, character=3),
        )
    )
    assert hover is None
    assert time.perf_counter() - started < 5.0  # generous: a shared 2-core machine


async def test_shutdown_in_the_middle_of_indexing_is_clean(
    lsp: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root = build_long_history(tmp_path / "big")
    await initialize(lsp, request, root)
    await eventually(
        lambda: [r for reports in lsp.progress_reports.values() for r in reports],
        "indexing to begin",
    )
    started = time.monotonic()
    await lsp.shutdown_session()  # shutdown + exit, then waits for the process
    assert lsp._server is not None
    assert lsp._server.returncode == 0
    assert time.monotonic() - started < 20
    lsp.capabilities = None  # already shut down: the fixture must not do it again

    # The store is consistent, indexing really stopped mid-way, and the next run resumes
    # where this one stopped.
    with PatternMemory.open(Settings(db_path=tmp_path / "patterns.db")) as memory:
        before = memory.stats().patterns
        assert before < LONG_HISTORY
        report = await asyncio.to_thread(index_repository, memory, root)
        assert not report.cancelled and report.commits_read <= LONG_HISTORY
        assert memory.stats().patterns == LONG_HISTORY


BIG_COMMITS = LONG_HISTORY


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough a history that indexing is still under way when the client leaves
    (built once: the tests only read it)."""
    return build_long_history(tmp_path_factory.mktemp("big") / "repo")


@pytest.mark.parametrize("goodbye", ["exit-without-shutdown", "stdin-closed"])
async def test_a_client_that_goes_away_mid_indexing_stops_the_server_promptly(
    lsp: LanguageClient,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    big_repo: Path,
    goodbye: str,
) -> None:
    await initialize(lsp, request, big_repo)
    await eventually(
        lambda: [r for reports in lsp.progress_reports.values() for r in reports],
        "indexing to begin",
    )
    server = lsp._server
    assert server is not None and server.stdin is not None
    if goodbye == "exit-without-shutdown":
        lsp.exit(None)
    else:
        server.stdin.close()
    await asyncio.wait_for(server.wait(), timeout=30)
    assert server.returncode == 1  # the spec's code for an exit that had no shutdown
    lsp.capabilities = None  # gone: the fixture must not shut it down

    # Indexing was cancelled (not run to the end of the history), and resumes later.
    with PatternMemory.open(Settings(db_path=tmp_path / "patterns.db")) as memory:
        assert memory.stats().patterns < BIG_COMMITS
        report = await asyncio.to_thread(index_repository, memory, big_repo)
        assert not report.cancelled
        assert memory.stats().patterns == BIG_COMMITS
