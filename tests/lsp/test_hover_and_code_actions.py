from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.lsphelp import (
    AFTER,
    BEFORE,
    FIX_MESSAGE,
    RENAMED_DOC,
    RENAMED_FIXED,
    apply_edits,
    client_name,
    code_actions,
    diagnostics_for,
    execute,
    indexed,
    initialize,
    open_document,
)

FIX_SUBJECT = FIX_MESSAGE.removeprefix("fix: ")


def _edits(
    action: types.CodeAction, uri: str, version: int, request: pytest.FixtureRequest
) -> list[types.TextEdit]:
    """The action's edits of `uri`: versioned (documentChanges) for a client that can take
    them (VS Code; it then rejects them once the text changed), else plain `changes`."""
    assert action.edit is not None
    if client_name(request) == "neovim":  # its capabilities have no documentChanges
        assert action.edit.document_changes is None and action.edit.changes is not None
        return list(action.edit.changes[uri])
    assert action.edit.changes is None and action.edit.document_changes is not None
    [change] = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri and change.text_document.version == version
    return [edit for edit in change.edits if isinstance(edit, types.TextEdit)]


async def _ready(
    lsp: LanguageClient, request: pytest.FixtureRequest, root: Path, text: str
) -> tuple[str, types.Diagnostic]:
    await initialize(lsp, request, root)
    await indexed(lsp)
    uri = (root / "app" / "accounts.py").as_uri()
    open_document(lsp, uri, text)
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    return uri, diagnostic


async def test_hover_shows_the_learned_pattern(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    uri, diagnostic = await _ready(lsp, request, fix_repo, RENAMED_DOC)
    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=10),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    text = hover.contents.value
    assert FIX_MESSAGE in text
    assert "2024-01-01 02:00:00" in text  # the fix commit's date
    assert "author@example.com" in text or "Test Author" in text
    assert "confidence:" in text and "success rate:" in text and "uses" in text
    assert "```diff" in text and "+    if row is None:" in text
    assert hover.range == diagnostic.range

    # Outside the range: nothing to say.
    elsewhere = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=2),
        )
    )
    assert elsewhere is None


async def test_code_action_adapts_renamed_identifiers_and_records_success(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    uri, diagnostic = await _ready(lsp, request, fix_repo, RENAMED_DOC)
    apply, not_helpful = await code_actions(lsp, uri, diagnostic)
    # The Conventional Commits type is left out: not "Apply learned fix: fix: ...".
    assert apply.title == f"Apply learned fix: {FIX_SUBJECT}"
    assert apply.kind == types.CodeActionKind.QuickFix
    assert apply.is_preferred is True
    assert apply_edits(RENAMED_DOC, _edits(apply, uri, 1, request)) == RENAMED_FIXED
    assert not_helpful.title == f"Not helpful: {FIX_SUBJECT}"
    assert not_helpful.edit is None

    # The client runs the action's command after applying its edit: a success is recorded.
    assert apply.command is not None
    pattern_id = diagnostic.data["patternId"]  # type: ignore[index]
    recorded = await execute(lsp, apply.command.command, *(apply.command.arguments or []))
    assert recorded["patternId"] == pattern_id and recorded["uses"] == 1
    assert not_helpful.command is not None
    after_failure = await execute(
        lsp, not_helpful.command.command, *(not_helpful.command.arguments or [])
    )
    assert after_failure["uses"] == 2
    assert after_failure["successRate"] < recorded["successRate"]

    # The hover shows the new figures (the document is analysed again after feedback).
    async def hover_text() -> str:
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=4, character=10),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        return hover.contents.value

    for _ in range(100):
        if "over 2 uses" in await hover_text():
            break
        await asyncio.sleep(0.05)
    assert "success rate: 71% over 2 uses" in await hover_text()


async def test_exact_and_whitespace_different_code_is_replaced_directly(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    document = "import os\n\n" + BEFORE.replace("db.get(uid)", "db.get( uid )")
    uri, diagnostic = await _ready(lsp, request, fix_repo, document)
    apply, _ = await code_actions(lsp, uri, diagnostic)
    assert apply_edits(document, _edits(apply, uri, 1, request)) == "import os\n\n" + AFTER
