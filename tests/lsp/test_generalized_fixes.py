"""A generalized template end to end in the real language server: two fixes of one shape on
different APIs, learned by the server's own indexer from a real history, flag a third API;
the diagnostic and the hover say which fixes back it, and the quick fix adapts the most
recent one."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.gitrepo import RepoBuilder
from tests.lsp.lsphelp import (
    apply_edits,
    code_actions,
    diagnostics_for,
    indexed,
    initialize,
    open_document,
)
from tests.matching.generalize_samples import SITE, build_history, closer, module


@pytest.mark.asyncio
async def test_a_third_api_is_flagged_by_the_generalized_template(
    lsp: LanguageClient, request: pytest.FixtureRequest, repo_builder: RepoBuilder
) -> None:
    build_history(
        repo_builder,
        [
            ("app/files.py", "handle", "close", "finishing"),
            ("app/pool.py", "conn", "release", "done"),
        ],
    )
    root = repo_builder.path
    await initialize(lsp, request, root)
    await indexed(lsp)
    uri = (root / "app" / "streams.py").as_uri()
    open_document(lsp, uri, SITE)
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    assert diagnostic.message == (
        "fix: crash in app/pool.py when nothing was opened "
        "(generalized from 2 fixes of the same shape)"
    )
    assert isinstance(diagnostic.data, dict) and len(diagnostic.data["members"]) == 2
    assert diagnostic.data["patternId"] == diagnostic.data["members"][0]

    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=diagnostic.range.start,
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "generalized from 2 fixes of the same shape: " in hover.contents.value

    actions = await code_actions(lsp, uri, diagnostic)
    apply = next(a for a in actions if a.edit is not None)
    assert apply.edit is not None
    if apply.edit.changes is not None:
        edits = list(apply.edit.changes[uri])
    else:
        [change] = apply.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit)
        edits = [edit for edit in change.edits if isinstance(edit, types.TextEdit)]
    fixed = module(closer("stream", "shutdown", "stopping", guarded=True))
    assert apply_edits(SITE, edits) == fixed
