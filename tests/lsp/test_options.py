from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.lsphelp import RENAMED_DOC, diagnostics_for, eventually, execute, indexed, initialize

LOOSE_QUERY = "loading records"


def _messages(lsp: LanguageClient) -> list[str]:
    return [m.message for m in lsp.messages]


async def test_invalid_initialization_options_are_shown_and_defaults_used(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(
        lsp,
        request,
        fix_repo,
        {"maxInjected": 500, "diagnosticSeverity": "loud", "colour": "blue"},
    )
    await indexed(lsp)
    shown = await eventually(lambda: _messages(lsp) if len(lsp.messages) >= 3 else [], "messages")
    assert any("'maxInjected'" in m and "between 1 and 50" in m and "using 5" in m for m in shown)
    assert any("'diagnosticSeverity'" in m and "using hint" in m for m in shown)
    assert any("'colour'" in m and "unknown setting" in m for m in shown)
    assert all(m.type == types.MessageType.Warning for m in lsp.messages)

    # The defaults are in force: Hint diagnostics, 5 injected patterns at most.
    uri = (fix_repo / "app" / "accounts.py").as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=RENAMED_DOC
            )
        )
    )
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    assert diagnostic.severity == types.DiagnosticSeverity.Hint


async def test_configuration_changes_are_validated_too(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo)
    await indexed(lsp)
    # A loose query: its best hit scores between 0.2 and the default threshold (0.6).
    assert await execute(lsp, "patternMemory.search", {"text": LOOSE_QUERY}) == []
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"patternMemory": {"minSuccessRate": "often", "similarity": 0.2}}
        )
    )
    [message] = await eventually(lambda: _messages(lsp), "a message")
    assert "'minSuccessRate'" in message and "must be a number" in message
    assert "using 0.6" in message
    # The valid part of the same change applies (similarity 0.2); the server keeps working.
    hits = await _search_until_found(lsp, LOOSE_QUERY)
    assert all(0.2 <= float(str(hit["score"])) < 0.6 for hit in hits)


async def test_configuration_changes_keep_the_initialization_options(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    """Neovim 0.11 sends `settings = {patternMemory = {}}` right after start: the store of
    `initializationOptions` stays, and a partial change changes only what it names."""
    db_path = tmp_path / "chosen" / "patterns.db"
    await initialize(lsp, request, fix_repo, {"dbPath": str(db_path), "similarity": 0.2})
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"patternMemory": {}})
    )
    await indexed(lsp)
    stats = await execute(lsp, "patternMemory.stats")
    assert stats["dbPath"] == str(db_path) and stats["patterns"] > 0
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"patternMemory": {"maxInjected": 2}})
    )
    hits = await _search_until_found(lsp, LOOSE_QUERY)
    assert hits and (await execute(lsp, "patternMemory.stats"))["dbPath"] == str(db_path)
    assert _messages(lsp) == []


async def _search_until_found(lsp: LanguageClient, text: str) -> list[dict[str, object]]:
    for _ in range(200):
        hits: list[dict[str, object]] = await execute(lsp, "patternMemory.search", {"text": text})
        if hits:
            return hits
        await asyncio.sleep(0.1)
    raise AssertionError(f"no search hits for {text!r}")


async def test_a_store_that_cannot_be_opened_is_reported_and_requests_fail_clearly(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's folder should be\n")
    await initialize(lsp, request, fix_repo, {"dbPath": str(blocker / "patterns.db")})
    [message] = await eventually(lambda: lsp.messages, "an error message")
    assert message.type == types.MessageType.Error
    assert "not-a-directory" in message.message
    with pytest.raises(JsonRpcException, match="pattern store is not open"):
        await execute(lsp, "patternMemory.stats")
    # Documents still open and hover still answers (nothing to say).
    uri = (fix_repo / "app" / "accounts.py").as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=RENAMED_DOC
            )
        )
    )
    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=8),
        )
    )
    assert hover is None


async def test_a_configuration_change_racing_the_first_open_wins(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    """`initialized` and a didChangeConfiguration sent right after it both (re)open the
    store; the opens are serialized, so the newest settings are the ones in force."""
    first, newest = tmp_path / "first" / "patterns.db", tmp_path / "newest" / "patterns.db"
    await initialize(lsp, request, fix_repo, {"dbPath": str(first), "indexOnStart": False})
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"patternMemory": {"dbPath": str(newest)}})
    )
    await asyncio.sleep(1.0)  # both opens are over by now
    assert (await execute(lsp, "patternMemory.stats"))["dbPath"] == str(newest)
