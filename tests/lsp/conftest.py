"""Fixtures for the language server's end-to-end tests (helpers live in lsphelp.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.gitrepo import RepoBuilder
from tests.lsp.lsphelp import CLIENTS, SERVER, build_fix_repo, decode_code_actions_by_spec


@pytest.fixture
def fix_repo(repo_builder: RepoBuilder) -> Path:
    return build_fix_repo(repo_builder)


@pytest_lsp.fixture(config=SERVER, params=CLIENTS)
async def lsp(lsp_client: LanguageClient) -> Any:
    """A started server, not yet initialized (tests choose their options)."""
    decode_code_actions_by_spec(lsp_client)
    yield
    await lsp_client.shutdown_session()
