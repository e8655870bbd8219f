"""The reviewer's case end to end: with hundreds of patterns in the store, code that has a
learned fix's before-code under other names is still flagged, the fix carrying the
document's names (the candidates come from the store's search by shape)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from pattern_memory.memory.db import Database
from pattern_memory.memory.store import PatternStore
from pattern_memory.memory.text import lookup_text
from tests.lsp.lsphelp import diagnostics_for, initialize, open_document
from tests.memory.crowded_samples import (
    DISTINCT,
    DISTINCT_RENAMED,
    RENAMED,
    TARGET,
    same_shape_as_target,
    stored_patterns,
)


def fill_store(path: Path) -> int:
    """The crowded store, written through the store's own SQL (no vectors: the editor's
    lookups use none)."""
    store = PatternStore(Database(path))
    # Python fixes (the samples carry no language; the editor offers a pattern only in
    # documents of its language).
    patterns = [dataclasses.replace(p, language="python") for p in stored_patterns()]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    saved = store.upsert([(p, lookup_text(p)) for p in patterns], "local", now)
    store.db.close()
    return sum(1 for _, added in saved if added)


@pytest.mark.asyncio
async def test_renamed_code_is_flagged_in_a_crowded_store(
    lsp: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert fill_store(tmp_path / "patterns.db") > 600
    root = tmp_path / "project"
    root.mkdir()
    # Every name of the reviewer's document differs from the pattern's: 9 of its 16 tokens
    # are verbatim (0.56), and renamed matches must reach `renamedMatchScore`, 0.6
    # by default. This test is about the candidates reaching the matcher: 0.5.
    await initialize(lsp, request, root, {"indexOnStart": False, "renamedMatchScore": 0.5})
    # `value = data[key]` renamed: the target or one of the 30 fixes of its very shape.
    same_shape = {p.pattern_id for p in [TARGET, *same_shape_as_target(30)]}
    for number, (text, allowed) in enumerate(
        [(RENAMED, same_shape), (DISTINCT_RENAMED, {DISTINCT.pattern_id})]
    ):
        uri = (root / f"doc_{number}.py").as_uri()
        open_document(lsp, uri, text)
        found = await diagnostics_for(lsp, uri, bool)
        assert {d.range.start.line for d in found} <= {0, 1, 2}
        assert any(d.range.start.line <= 1 <= d.range.end.line for d in found)
        assert isinstance(found[0].data, dict)
        assert {d.data["patternId"] for d in found if isinstance(d.data, dict)} <= allowed
