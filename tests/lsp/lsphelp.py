"""End-to-end helpers: the real server (`python -m pattern_memory serve`) driven by
pytest-lsp's client with VS Code's and Neovim's capabilities, over a real git repository
with a past bug fix, a real SQLite store and the real embedding model."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.gitrepo import RepoBuilder
from tests.history import build_history

CLIENTS = ["visual_studio_code", "neovim"]
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "pattern_memory", "serve"])

FIX_MESSAGE = "fix: crash when the user does not exist"
BEFORE = 'def load_user(db, uid):\n    row = db.get(uid)\n    return row["name"]\n'
AFTER = (
    "def load_user(db, uid):\n    row = db.get(uid)\n    if row is None:\n"
    '        return None\n    return row["name"]\n'
)
# A document with the same bug, its names changed: uid -> user_id, row -> record.
RENAMED_DOC = (
    "import json\n"
    "\n"
    "\n"
    "def fetch_account(db, user_id):\n"
    "    record = db.get(user_id)\n"
    '    return record["name"]\n'
)
RENAMED_FIXED = (
    "import json\n"
    "\n"
    "\n"
    "def fetch_account(db, user_id):\n"
    "    record = db.get(user_id)\n"
    "    if record is None:\n"
    "        return None\n"
    '    return record["name"]\n'
)
TIMEOUT = 30.0


# Commits (one pattern each) in the history of the tests that must catch indexing under way:
# mining alone takes about half a second, far longer than a request's round trip, even on a
# quiet machine (histories of ~100-400 commits were sometimes indexed before a cancel came).
LONG_HISTORY = 1000


def build_long_history(path: Path) -> Path:
    build_history(path, LONG_HISTORY)
    return path


def build_fix_repo(builder: RepoBuilder, extra_commits: int = 0) -> Path:
    builder.commit("feat: add the user loader", {"app/users.py": BEFORE})
    builder.commit(FIX_MESSAGE, {"app/users.py": AFTER})
    for number in range(extra_commits):
        builder.commit(
            f"fix: handle empty batch {number}",
            {f"app/batch_{number}.py": f"def run_{number}(items):\n    return items[0]\n"},
        )
        builder.commit(
            f"fix: empty batch {number} again",
            {
                f"app/batch_{number}.py": (
                    f"def run_{number}(items):\n    if not items:\n        return None\n"
                    "    return items[0]\n"
                )
            },
        )
    return builder.path


def decode_code_actions_by_spec(client: LanguageClient) -> None:
    """lsprotocol 2025.0.0 decodes every `Command | CodeAction` that has a `command` key as a
    Command, so a CodeAction carrying a command (ours: record the outcome) would arrive
    mangled in the Python test client. Editors tell them apart by the spec's rule: a
    Command's `command` is a string."""
    converter = client.protocol._converter

    def structure(value: Any, _: Any) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)  # type: ignore[no-any-return]
        return converter.structure(value, types.CodeAction)  # type: ignore[no-any-return]

    converter.register_structure_hook(types.Command | types.CodeAction, structure)
    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


def client_name(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["lsp"])


async def initialize(
    client: LanguageClient,
    request: pytest.FixtureRequest,
    root: Path,
    options: dict[str, Any] | None = None,
) -> types.InitializeResult:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    init_options = {"dbPath": str(tmp_path / "patterns.db"), **(options or {})}
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client_name(request)),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=init_options,
        )
    )


async def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Poll until `check()` is truthy (the server works in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


INDEX_PROGRESS = "pattern-memory/index/"
TEMPLATES_PROGRESS = "pattern-memory/templates/"


def ended_progress(
    client: LanguageClient, kind: str = INDEX_PROGRESS
) -> list[types.WorkDoneProgressEnd]:
    """The ends of the server's progress of one kind (indexing runs by default), in order."""
    return [
        report
        for token, reports in client.progress_reports.items()
        if str(token).startswith(kind)
        for report in reports
        if isinstance(report, types.WorkDoneProgressEnd)
    ]


async def indexed(client: LanguageClient) -> types.WorkDoneProgressEnd:
    ends = await eventually(lambda: ended_progress(client), "indexing to finish")
    return ends[0]  # type: ignore[no-any-return]


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=text
            )
        )
    )


async def diagnostics_for(
    client: LanguageClient, uri: str, predicate: Callable[[Sequence[types.Diagnostic]], bool]
) -> Sequence[types.Diagnostic]:
    def check() -> list[Sequence[types.Diagnostic]]:
        found = client.diagnostics.get(uri)
        return [found] if found is not None and predicate(found) else []

    [found] = await eventually(check, f"diagnostics on {uri}")
    return found  # type: ignore[no-any-return]


def apply_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP text edits (ASCII documents: UTF-16 columns are characters)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


async def code_actions(
    client: LanguageClient, uri: str, diagnostic: types.Diagnostic
) -> list[types.CodeAction]:
    """The code actions the server offers on one of its diagnostics (commands left out)."""
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    assert result is not None
    return [action for action in result if isinstance(action, types.CodeAction)]
