from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from pattern_memory.matching.prepared import template_version
from pattern_memory.memory.db import Database
from pattern_memory.memory.template_store import TemplateStore
from tests.lsp.lsphelp import (
    FIX_MESSAGE,
    RENAMED_DOC,
    TEMPLATES_PROGRESS,
    diagnostics_for,
    ended_progress,
    eventually,
    execute,
    indexed,
    initialize,
    open_document,
)


async def test_indexes_on_start_with_progress_then_publishes_diagnostics(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    result = await initialize(lsp, request, fix_repo)
    assert result.capabilities.hover_provider
    commands = result.capabilities.execute_command_provider
    assert commands is not None and "patternMemory.search" in commands.commands

    end = await indexed(lsp)
    [token] = [t for t, reports in lsp.progress_reports.items() if end in reports]
    kinds = [type(report).__name__ for report in lsp.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert "new patterns" in (end.message or "")

    uri = (fix_repo / "app" / "accounts.py").as_uri()
    open_document(lsp, uri, RENAMED_DOC)
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    # The match covers `record = db.get(user_id)` .. `return record["name"]` (lines 4-5).
    assert diagnostic.range == types.Range(
        start=types.Position(line=4, character=4), end=types.Position(line=5, character=25)
    )
    assert diagnostic.message == FIX_MESSAGE
    assert diagnostic.severity == types.DiagnosticSeverity.Hint
    assert diagnostic.source == "pattern-memory"
    assert isinstance(diagnostic.data, dict) and len(diagnostic.data["patternId"]) == 16

    # Fixing the code by hand clears the diagnostic.
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=5, character=0),
                        end=types.Position(line=5, character=0),
                    ),
                    text="    if record is None:\n        return None\n",
                )
            ],
        )
    )
    await diagnostics_for(lsp, uri, lambda found: len(found) == 0)


async def test_severity_and_switch_follow_the_configuration(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"diagnosticSeverity": "warning"})
    await indexed(lsp)
    uri = (fix_repo / "app" / "accounts.py").as_uri()
    open_document(lsp, uri, RENAMED_DOC)
    [diagnostic] = await diagnostics_for(lsp, uri, lambda found: len(found) == 1)
    assert diagnostic.severity == types.DiagnosticSeverity.Warning

    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"patternMemory": {"diagnostics": False}})
    )
    await diagnostics_for(lsp, uri, lambda found: len(found) == 0)


async def test_after_indexing_the_learned_fixes_are_prepared_in_the_background(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    """A fresh index has no stored templates; the server works them out after indexing
    (with its own progress), so that the first analysis in the next server reads them."""
    await initialize(lsp, request, fix_repo)
    await indexed(lsp)
    [end] = await eventually(
        lambda: ended_progress(lsp, TEMPLATES_PROGRESS), "the templates to be prepared"
    )
    patterns = (await execute(lsp, "patternMemory.stats"))["patterns"]
    assert end.message == f"{patterns} prepared", end.message
    database = Database(tmp_path / "patterns.db")
    try:
        assert TemplateStore(database).count(template_version()) == patterns
    finally:
        database.close()
