"""The team API key an editor hands over at start (initializationOptions' `teamApiKey`,
beside the settings): kept by the server for team sync, never logged, never a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp.lsphelp import eventually, execute, initialize

KEY = "pm-test-team-key-91c2"


@pytest.mark.parametrize("layout", ["section", "flat"])
async def test_the_key_is_received_and_never_logged(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, layout: str
) -> None:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    settings = {"dbPath": str(tmp_path / "patterns.db"), "indexOnStart": False}
    options = (
        {"patternMemory": settings, "teamApiKey": KEY}
        if layout == "section"  # VS Code's layout
        else {**settings, "teamApiKey": KEY}  # Neovim's: flat
    )
    await initialize(lsp, request, fix_repo, options)
    await eventually(
        lambda: [m for m in lsp.log_messages if "team API key: received" in m.message],
        "the key's log line",
    )
    assert (await execute(lsp, "patternMemory.stats"))["patterns"] == 0
    texts = [m.message for m in lsp.log_messages] + [m.message for m in lsp.messages]
    assert not [t for t in texts if KEY in t], texts
    # Not taken for an unknown setting either.
    assert not [t for t in texts if "teamApiKey" in t], texts


async def test_no_key_no_line(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False, "teamApiKey": "  "})
    assert (await execute(lsp, "patternMemory.stats"))["patterns"] == 0
    assert not [m for m in lsp.log_messages if "team API key" in m.message]
