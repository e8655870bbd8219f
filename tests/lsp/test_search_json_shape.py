"""`pattern-memory search --json` answers in the language server's search shape (issue 10):
the same camelCase keys and values, success rate and uses included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp.lsphelp import execute, initialize

QUERY = "user does not exist crash"


async def test_cli_search_json_is_the_language_servers_search_shape(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path, tmp_path: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False})
    await execute(lsp, "patternMemory.indexWorkspace")
    served = await execute(lsp, "patternMemory.search", {"text": QUERY, "k": 3})
    db = str(tmp_path / "patterns.db")
    printed = subprocess.run(
        [sys.executable, "-m", "pattern_memory", "search", QUERY, "-k", "3", "--json", "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in printed.stdout.splitlines()]
    assert served and len(lines) == len(served)
    for cli, lsp_hit in zip(lines, served, strict=True):
        assert list(cli) == list(lsp_hit)  # same keys, same order
        assert {"patternId", "successRate", "uses", "commitMsg", "beforeCode"} <= set(cli)
        assert cli.pop("score") == pytest.approx(lsp_hit.pop("score"), abs=1e-3)
        assert cli == lsp_hit
