from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from tests.gitrepo import RepoBuilder
from tests.lsp.lsphelp import (
    FIX_MESSAGE,
    LONG_HISTORY,
    build_fix_repo,
    build_long_history,
    client_name,
    ended_progress,
    eventually,
    execute,
    indexed,
    initialize,
)

FORGE_RESPONSE = (
    "The bug was that the cache key ignored the tenant id, so the fix is to include the "
    "tenant id in the cache key.\n"
)
FORGE_REQUEST = "Why do tenants see each other's cached dashboards?"


async def _error(lsp: LanguageClient, command: str, *arguments: object) -> str:
    with pytest.raises(JsonRpcException) as caught:
        await execute(lsp, command, *arguments)
    return str(caught.value)


async def test_every_command_through_execute_command(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False})

    report = await execute(lsp, "patternMemory.indexWorkspace")
    assert report["commitsRead"] == 2 and report["patternsAdded"] == 2
    assert [r for reports in lsp.progress_reports.values() for r in reports]  # progress shown
    again = await execute(lsp, "patternMemory.indexWorkspace", {"path": str(fix_repo)})
    assert again["patternsAdded"] == 0  # incremental: nothing new
    # A relative path is the workspace's, not the server's working directory.
    relative = await execute(lsp, "patternMemory.indexWorkspace", {"path": "."})
    assert Path(relative["repository"]).resolve() == fix_repo.resolve()
    assert relative["upToDate"]

    hits = await execute(lsp, "patternMemory.search", {"text": "user does not exist crash", "k": 3})
    assert hits and hits[0]["commitMsg"] == FIX_MESSAGE
    assert hits[0]["problemType"] == "bug_fix" and 0 < hits[0]["score"] <= 1
    assert "if row is None" in hits[0]["afterCode"]
    positional = await execute(lsp, "patternMemory.search", "user does not exist crash")
    assert positional[0]["patternId"] == hits[0]["patternId"]

    forged = await execute(
        lsp, "patternMemory.forge", {"response": FORGE_RESPONSE, "request": FORGE_REQUEST}
    )
    assert isinstance(forged, list) and len(forged) == 1 and len(forged[0]) == 16

    block = await execute(lsp, "patternMemory.injectBlock", {"query": "user does not exist"})
    assert block.startswith("<learned-patterns") and FIX_MESSAGE.split(": ")[1] in block

    pattern_id = hits[0]["patternId"]
    feedback = await execute(
        lsp, "patternMemory.feedback", {"patternId": pattern_id, "outcome": "helpful"}
    )
    assert feedback["uses"] == 1

    stats = await execute(lsp, "patternMemory.stats")
    assert {"dbPath", "schemaVersion", "byType", "bySource"} <= set(stats)
    metrics = stats["metrics"]
    assert metrics["patterns.forged"] == 1
    assert metrics["patterns.injected"] >= 1
    assert metrics["patterns.lookup_ms"]["count"] >= 1
    assert "p95" in metrics["patterns.lookup_ms"]


async def test_arguments_are_validated_with_clear_errors(
    lsp: LanguageClient, request: pytest.FixtureRequest, fix_repo: Path
) -> None:
    await initialize(lsp, request, fix_repo, {"indexOnStart": False})
    assert "missing argument 'text'" in await _error(lsp, "patternMemory.search")
    assert "'k' must be between 1 and 100" in await _error(
        lsp, "patternMemory.search", {"text": "x", "k": 0}
    )
    assert "unknown argument(s) 'txt'" in await _error(lsp, "patternMemory.search", {"txt": "x"})
    assert "'query' must be a non-empty string" in await _error(
        lsp, "patternMemory.injectBlock", {"query": 42}
    )
    assert "'outcome' must be one of applied, helpful, not_helpful" in await _error(
        lsp, "patternMemory.feedback", {"patternId": "0123456789abcdef", "outcome": "meh"}
    )
    assert "patternMemory.feedback: no pattern with id '0123456789abcdef'" in await _error(
        lsp, "patternMemory.feedback", "0123456789abcdef", "applied"
    )
    assert "expected at most 0 argument(s)" in await _error(lsp, "patternMemory.stats", 1)
    assert "patternMemory.sync: expected at most 0 argument(s)" in await _error(
        lsp, "patternMemory.sync", {"x": 1}, 2
    )
    assert "missing argument 'response'" in await _error(lsp, "patternMemory.forge", {})
    assert (
        "not a git repository"
        in (
            await _error(lsp, "patternMemory.indexWorkspace", {"path": str(fix_repo.parent)})
        ).lower()
    )
    # The server is fine after all that.
    assert (await execute(lsp, "patternMemory.stats"))["patterns"] == 0


FULL_RUN_PATTERNS = LONG_HISTORY


async def test_a_cancelled_index_request_stops_without_finishing(
    lsp: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root = build_long_history(tmp_path / "big")
    await initialize(lsp, request, root, {"indexOnStart": False})
    params = types.ExecuteCommandParams(command="patternMemory.indexWorkspace", arguments=[])
    # Sent at once (pytest-lsp's send_request_async would only send once awaited).
    pending = asyncio.wrap_future(
        lsp.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="slow-index")
    )
    lsp.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-index"))
    with pytest.raises(JsonRpcException, match="cancel"):
        await asyncio.wait_for(pending, 30)
    await asyncio.sleep(0.5)  # anything still running in the server would go on meanwhile
    stats = await execute(lsp, "patternMemory.stats")
    assert stats["patterns"] < FULL_RUN_PATTERNS
    # Asked again, it indexes everything.
    report = await execute(lsp, "patternMemory.indexWorkspace")
    assert not report["cancelled"]
    assert (await execute(lsp, "patternMemory.stats"))["patterns"] == FULL_RUN_PATTERNS
    await indexed(lsp)


async def test_the_progress_cancel_button_stops_background_indexing(
    lsp: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root = build_long_history(tmp_path / "big")
    await initialize(lsp, request, root)
    token = await eventually(
        lambda: next((t for t, reports in lsp.progress_reports.items() if reports), None),
        "indexing to begin",
    )
    lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    end = await indexed(lsp)
    assert (end.message or "").startswith("cancelled after")
    assert (await execute(lsp, "patternMemory.stats"))["patterns"] < FULL_RUN_PATTERNS


async def test_every_workspace_folder_is_indexed(
    lsp: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    first = build_fix_repo(RepoBuilder(tmp_path / "first"))
    second = build_fix_repo(RepoBuilder(tmp_path / "second"), extra_commits=1)
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client_name(request)),
            root_uri=first.as_uri(),
            workspace_folders=[
                types.WorkspaceFolder(uri=first.as_uri(), name="first"),
                types.WorkspaceFolder(uri=second.as_uri(), name="second"),
            ],
            initialization_options={"dbPath": str(tmp_path / "patterns.db")},
        )
    )
    ends = await eventually(
        lambda: ended_progress(lsp) if len(ended_progress(lsp)) == 2 else [], "two indexing runs"
    )
    assert all("new patterns" in (end.message or "") for end in ends)
    stats = await execute(lsp, "patternMemory.stats")
    assert stats["patterns"] == 4  # the same two changes in both, plus the second's own two
