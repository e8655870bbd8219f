"""`patternMemory.get`: one pattern by id (what the VS Code "Learned Fixes" view shows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.lsphelp import FIX_MESSAGE, execute, initialize


async def test_get_returns_the_pattern_a_search_found(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    result = await initialize(lsp, request, fix_repo, {"indexOnStart": False})
    provider = result.capabilities.execute_command_provider
    assert provider is not None and "patternMemory.get" in provider.commands
    await execute(lsp, "patternMemory.indexWorkspace")
    [hit] = await execute(lsp, "patternMemory.search", {"text": "user does not exist", "k": 1})
    feedback = await execute(
        lsp, "patternMemory.feedback", {"patternId": hit["patternId"], "outcome": "helpful"}
    )

    got = await execute(lsp, "patternMemory.get", {"patternId": hit["patternId"]})
    assert got["patternId"] == hit["patternId"] and got["commitMsg"] == FIX_MESSAGE
    assert got["beforeCode"] == hit["beforeCode"] and got["afterCode"] == hit["afterCode"]
    # The outcome just recorded shows (the search result came before it).
    assert got["uses"] == 1 and got["successRate"] == feedback["successRate"] > hit["successRate"]
    assert got["retired"] is False
    assert "score" not in got  # not a search result
    positional = await execute(lsp, "patternMemory.get", hit["patternId"])
    assert positional == got

    assert await execute(lsp, "patternMemory.get", {"patternId": "0123456789abcdef"}) is None
    with pytest.raises(JsonRpcException, match="missing argument 'patternId'"):
        await execute(lsp, "patternMemory.get", {})
    with pytest.raises(JsonRpcException, match="'patternId' must be a non-empty string"):
        await execute(lsp, "patternMemory.get", {"patternId": 7})
