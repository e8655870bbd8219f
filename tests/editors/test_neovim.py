"""End to end in real headless Neovim: Debian's 0.7 and PyPI's 0.11 start the real
`pattern-memory serve` through the shipped client configuration (clients/neovim), in a real
git repository whose history holds a bug fix; then, on new code that repeats the bug under
other names, the diagnostic appears, the hover shows the learned fix, and the quick fix
rewrites the buffer to the fixed code in the buffer's own names.

nvim_driver.lua does the editor side and writes what it saw to a JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.gitrepo import RepoBuilder

pytestmark = [pytest.mark.editor, pytest.mark.slow]

DRIVER = Path(__file__).with_name("nvim_driver.lua")
STEP_TIMEOUT_MS = 30_000
RUN_TIMEOUT_S = 150

BUGGY = """\
def display_name(users, user_id):
    user = users[user_id]
    return user["name"].title()
"""
FIXED = """\
def display_name(users, user_id):
    user = users.get(user_id)
    if user is None:
        return "unknown"
    return user["name"].title()
"""
FIX_MESSAGE = "fix: KeyError for unknown users in display_name"
# New code that repeats the old bug under other names, in another module.
REPORT = """\
import sys


def member_label(members, member_id):
    member = members[member_id]
    return member["name"].title()


def main():
    print(member_label({}, sys.argv[1]))
"""
REPORT_FIXED = REPORT.replace(
    """    member = members[member_id]
""",
    """    member = members.get(member_id)
    if member is None:
        return "unknown"
""",
)


def history_with_a_fix(builder: RepoBuilder) -> None:
    builder.commit("Add display names", {"app/__init__.py": "", "app/users.py": BUGGY})
    builder.commit("Add README", {"README.md": "# users\n"})
    builder.commit(FIX_MESSAGE, {"app/users.py": FIXED})
    builder.commit("Add report", {"app/report.py": REPORT})


def lsp_logs(xdg: dict[str, str]) -> str:
    logs = [Path(xdg["XDG_STATE_HOME"]) / "nvim" / "lsp.log"]  # 0.8+
    logs.append(Path(xdg["XDG_CACHE_HOME"]) / "nvim" / "lsp.log")  # 0.7
    return "\n".join(p.read_text(errors="replace")[-4000:] for p in logs if p.exists())


def drive(
    *,
    binary: Path,
    client_dir: Path,
    file: Path,
    tmp_path: Path,
    init_options: dict[str, Any],
    setup: str,
    other_file: Path,
) -> dict[str, Any]:
    out = tmp_path / "result.json"
    xdg = {
        name: str(tmp_path / "xdg" / name.lower())
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    env = {
        **os.environ,
        **xdg,
        "PM_CLIENT_DIR": str(client_dir),
        "PM_SERVER_CMD": json.dumps([sys.executable, "-m", "pattern_memory", "serve"]),
        "PM_INIT_OPTIONS": json.dumps(init_options),
        "PM_FILE": str(file),
        "PM_OUT": str(out),
        "PM_ACTION": "Apply learned fix",
        "PM_TIMEOUT_MS": str(STEP_TIMEOUT_MS),
        "PM_SETUP": setup,
        "PM_OTHER_FILE": str(other_file),
    }
    completed = subprocess.run(
        [str(binary), "--headless", "-n", "-i", "NONE", "-u", str(DRIVER)],
        env=env,
        cwd=file.parent,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    context = (
        f"nvim exit {completed.returncode}\nstdout: {completed.stdout[-2000:]}\n"
        f"stderr: {completed.stderr[-2000:]}\nlsp.log:\n{lsp_logs(xdg)}"
    )
    assert out.exists(), context
    result: dict[str, Any] = json.loads(out.read_text())
    result["context"] = context
    return result


@pytest.mark.parametrize(
    "case",
    [
        ("0.7", "vim.lsp.start_client"),
        # 0.11 twice: its own vim.lsp.config/enable, and the vim.lsp.start path of 0.8-0.10.
        ("0.11", "vim.lsp.config+enable"),
        ("0.11", "vim.lsp.start"),
    ],
    ids=lambda case: f"nvim-{case[0]}-{case[1]}",
)
def test_learned_fix_in_neovim(
    case: tuple[str, str],
    repo_builder: RepoBuilder,
    tmp_path: Path,
    find_neovim: Callable[[str], Path],
    client_dir: Path,
) -> None:
    version, setup = case
    binary = find_neovim(version)
    history_with_a_fix(repo_builder)
    report = repo_builder.path / "app" / "report.py"
    db_path = tmp_path / "patterns.db"

    options = {"dbPath": str(db_path), "indexOnStart": True}
    result = drive(
        binary=binary,
        client_dir=client_dir,
        file=report,
        tmp_path=tmp_path,
        init_options=options,
        setup=setup,
        other_file=repo_builder.path / "app" / "users.py",
    )
    context = result.pop("context")

    assert result["ok"], result.get("err", "") + "\n" + context
    assert result["nvim"].startswith(version + "."), result["nvim"]
    assert result["setup_path"] == setup
    assert result["attached"] and result["client_name"] == "pattern_memory", context
    assert Path(result["root_dir"]) == repo_builder.path  # found by the ".git" root marker
    assert result["init_options"] == {"dbPath": str(db_path), "indexOnStart": True}

    # 1. The diagnostic on the repeated bug, naming the past fix, carrying the id of the
    #    pattern the server learned into the database the editor's options named.
    assert result["got_diagnostics"], context
    (diagnostic,) = result["diagnostics"]
    assert diagnostic["message"].startswith(FIX_MESSAGE), diagnostic
    bug_line = REPORT.splitlines().index("    member = members[member_id]")
    assert diagnostic["lnum"] <= bug_line <= diagnostic["end_lnum"], diagnostic
    with PatternMemory.open(Settings(db_path=db_path)) as memory:
        learned = memory.get(diagnostic["data"]["patternId"])
    assert learned is not None and learned.pattern.commit_msg.startswith(FIX_MESSAGE)

    # 2. The hover shows the learned fix, through the request and in the editor's float.
    assert result.get("hover"), result.get("hover_error") or context
    for hover in (result["hover"], result["hover_float"]):
        assert "users.get(user_id)" in hover and 'return "unknown"' in hover, hover

    # 3. The code action rewrites the buffer (and, once saved, the file) to the fixed code,
    #    adapted to the buffer's names.
    title = f"Apply learned fix: {FIX_MESSAGE.removeprefix('fix: ')}"
    assert result["action_title"] == title, result["action_titles"]
    assert result["applied"], context
    assert result["text"] + "\n" == REPORT_FIXED
    assert report.read_text() == REPORT_FIXED
    # ... and the action's command recorded the "applied" outcome in the database.
    with PatternMemory.open(Settings(db_path=db_path)) as memory:
        recorded = memory.get(diagnostic["data"]["patternId"])
    assert (
        recorded is not None
        and recorded.lifecycle.uses == 1
        and recorded.lifecycle.success_count == 1
    )

    # 4. Another file of the repository attaches to the same server: one per root.
    assert result["other_file_client"] == result["first_file_client"], context
    assert result["clients_running"] == 1


CONFIG_BUGGY = """\
def read_timeout(config, default):
    value = config["timeout"]
    return float(value) * 1.5
"""
CONFIG_FIXED = """\
def read_timeout(config, default):
    value = config.get("timeout")
    if value is None:
        return default
    return float(value) * 1.5
"""
CONFIG_FIX_MESSAGE = "fix: KeyError when the timeout is not configured"
# The same bug on another key: the fix carries the key unchanged, so it stands for any key.
RETRIES = """\
def read_retries(options, fallback):
    value = options["retries"]
    return float(value) * 1.5
"""
RETRIES_FIXED = """\
def read_retries(options, fallback):
    value = options.get("retries")
    if value is None:
        return fallback
    return float(value) * 1.5
"""


def test_a_look_alike_with_another_literal_is_flagged_and_fixed(
    repo_builder: RepoBuilder,
    tmp_path: Path,
    find_neovim: Callable[[str], Path],
    client_dir: Path,
) -> None:
    repo_builder.commit("Add settings", {"app/__init__.py": "", "app/settings.py": CONFIG_BUGGY})
    repo_builder.commit(CONFIG_FIX_MESSAGE, {"app/settings.py": CONFIG_FIXED})
    repo_builder.commit("Add retries", {"app/retries.py": RETRIES})
    retries = repo_builder.path / "app" / "retries.py"
    result = drive(
        binary=find_neovim("0.11"),
        client_dir=client_dir,
        file=retries,
        tmp_path=tmp_path,
        init_options={"dbPath": str(tmp_path / "patterns.db"), "indexOnStart": True},
        setup="vim.lsp.config+enable",
        other_file=repo_builder.path / "app" / "settings.py",
    )
    context = result.pop("context")
    assert result["ok"], result.get("err", "") + "\n" + context
    (diagnostic,) = result["diagnostics"]
    assert diagnostic["message"] == CONFIG_FIX_MESSAGE, diagnostic
    assert result["applied"], context
    assert result["text"] + "\n" == RETRIES_FIXED
    assert retries.read_text() == RETRIES_FIXED
