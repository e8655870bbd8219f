"""The server notices when another process changes the store (the CLI indexing, another
editor): its cached lookups are dropped, so an unchanged document shows what was learned."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.lsp.lsphelp import RENAMED_DOC, diagnostics_for, eventually, initialize, open_document


def _index_elsewhere(db_path: Path, repo: Path) -> int:
    with PatternMemory.open(Settings(db_path=db_path)) as memory:
        return index_repository(memory, repo).patterns_added


async def test_a_store_indexed_by_another_process_is_seen_without_a_restart(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False})
    uri = (fix_repo / "app" / "accounts.py").as_uri()
    open_document(lsp, uri, RENAMED_DOC)
    # Analysed against the empty store: nothing to show (and the empty lookups are cached).
    await eventually(lambda: lsp.diagnostics.get(uri) is not None, "the first analysis")
    assert not lsp.diagnostics[uri]

    # Another process learns the fix; the document's text is the same as before.
    assert await asyncio.to_thread(_index_elsewhere, tmp_path / "patterns.db", fix_repo) > 0
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=RENAMED_DOC)],
        )
    )
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    assert diagnostic.message.startswith("fix: crash when the user does not exist")
