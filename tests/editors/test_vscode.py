"""End to end in a real VS Code: code-server 4.100.3 (VS Code 1.100.3, built from npm by
scripts/install_vscode_e2e.sh) in Debian's chromium driven by Playwright. The packaged
client-vscode .vsix is installed; in a git repository whose history holds a fix, the
look-alike in another module gets the squiggle, the hover shows the fix, the status bar
counts the patterns and spun while the server indexed on start, the Learned Fixes view lists
the fix with its success rate and selects its range, "Apply learned fix" rewrites the file on
disk, the palette's search opens the fix's before/after diff, forge learns from a selection,
the copied <learned-patterns> block holds the fix, stats are shown, the team API key
reaches the server at its restart without being written to settings.json, and Sync with
Team pulls a teammate's fix from the real team server (tests/team's helpers: FastAPI on an
embedded PostgreSQL), shown as the team's in the squiggle's hover.
vscode_driver.js does the browser side; screenshots (hover, Learned Fixes, search, diff,
forge, stats) stay in the artifacts folder the test prints: $PATTERN_MEMORY_ARTIFACTS/vscode,
by default artifacts/vscode in the repository (gitignored), for CI to keep."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import RepoBuilder

pytestmark = [pytest.mark.editor, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client-vscode"
DRIVER = Path(__file__).with_name("vscode_driver.js")
CACHE = Path(
    os.environ.get("PATTERN_MEMORY_CI_CACHE", Path.home() / ".cache" / "pattern-memory-ci")
)
CODE_SERVER_HOST = CACHE / "code-server-4.100.3"
CODE_SERVER = CODE_SERVER_HOST / "node_modules" / ".bin" / "code-server"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "bash scripts/install_vscode_e2e.sh"
ARTIFACTS = Path(os.environ.get("PATTERN_MEMORY_ARTIFACTS", ROOT / "artifacts")) / "vscode"
FORGE_TEXT = (
    "The bug was that the cache key ignored the tenant id, so the fix is to include the "
    "tenant id in the cache key."
)
INJECT_QUERY = "KeyError for unknown users"
# A teammate's fix the workspace's history does not hold: it reaches VS Code through the team
# server only (Sync with Team), in a module that has its before-code.
TEAM_FIX_MESSAGE = "fix: close the cursor after the query"
TEAM_BEFORE = (
    "def rows(conn, sql):\n    cur = conn.cursor()\n    cur.execute(sql)\n"
    "    return cur.fetchall()\n"
)
TEAM_AFTER = (
    "def rows(conn, sql):\n    with conn.cursor() as cur:\n        cur.execute(sql)\n"
    "        return cur.fetchall()\n"
)


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def _neovim_case() -> Any:
    # The Neovim test's repository (a past fix, a look-alike under other names) is reused.
    return _load("neovim_case", Path(__file__).with_name("test_neovim.py"))


@pytest.fixture(scope="module")
def team_server(vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real team server (FastAPI on an embedded PostgreSQL with pgvector), started with
    tests/team's helpers; after the tools check (`vsix`), so a skip starts nothing."""
    helpers = _load("team_server_helpers", ROOT / "tests" / "team" / "conftest.py")
    postgres = helpers.start_postgres(tmp_path_factory.mktemp("pg") / "data")
    try:
        team = helpers.start_server(
            helpers.fresh_database(postgres, "vscode"), tmp_path_factory.mktemp("storage")
        )
        try:
            yield team
        finally:
            helpers.stop_server(team)
    finally:
        postgres.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _require_tools() -> None:
    missing = [
        str(p)
        for p in (
            CODE_SERVER,
            CHROMIUM,
            CLIENT / "node_modules",
            CODE_SERVER_HOST / "node_modules" / "playwright-core",
        )
        if not p.exists()
    ]
    if missing:
        reason = f"VS Code e2e tools missing ({', '.join(missing)}); install them with `{INSTALL}`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def vsix() -> Path:
    _require_tools()
    # Packaged from the sources under test, not whatever .vsix was left behind.
    subprocess.run(
        ["npm", "run", "-s", "package"], cwd=CLIENT, check=True, capture_output=True, timeout=300
    )
    return CLIENT / "pattern-memory.vsix"


def test_learned_fix_in_vscode(
    vsix: Path, team_server: Any, repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    case = _neovim_case()
    case.history_with_a_fix(repo_builder)
    repo_builder.commit("Add queries", {"app/queries.py": TEAM_BEFORE})
    workspace = repo_builder.path
    team_key = team_server.key("vera", "e2e")  # set through the palette, as a user would
    with team_server.client(team_server.key("dana", "e2e")) as http:
        shared = http.post(
            "/patterns",
            json={
                "problem_type": "bug_fix",
                "code_before": TEAM_BEFORE,
                "code_after": TEAM_AFTER,
                "commit_msg": TEAM_FIX_MESSAGE,
                "language": "python",
            },
        )
    assert shared.status_code == 201, shared.text
    report = workspace / "app" / "report.py"
    artifacts = ARTIFACTS
    shutil.rmtree(artifacts, ignore_errors=True)  # this run's screenshots only
    print(f"\nVS Code e2e artifacts: {artifacts}")
    port = _free_port()
    user = tmp_path / "user"
    (user / "User").mkdir(parents=True)
    settings = {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "patternMemory.interpreter": sys.executable,
        "patternMemory.dbPath": str(tmp_path / "patterns.db"),
        "patternMemory.diagnosticSeverity": "warning",  # a squiggle, not hint dots
        "patternMemory.teamUrl": team_server.url,
        "patternMemory.includeTeam": True,
        "patternMemory.syncIntervalMinutes": 0,  # Sync with Team only: no background sync
        # the initialize request in the log: the team key field sent (its value redacted)
        "patternMemory.trace.server": "verbose",
        # typing the forge answer into an editor must not accept word suggestions
        "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
        "editor.wordBasedSuggestions": "off",
        "editor.acceptSuggestionOnEnter": "off",
    }
    (user / "User" / "settings.json").write_text(json.dumps(settings))
    config = tmp_path / "config.yaml"
    config.write_text(f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n")
    env = {
        **os.environ,
        **{
            k: str(tmp_path / "xdg" / k.lower())
            for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
        },
        "NODE_PATH": str(CODE_SERVER_HOST / "node_modules"),
    }
    args = [
        str(CODE_SERVER),
        "--config",
        str(config),
        "--user-data-dir",
        str(user),
        "--extensions-dir",
        str(tmp_path / "ext"),
    ]
    subprocess.run(
        [*args, "--install-extension", str(vsix)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = (tmp_path / "code-server.log").open("w")
    proc = subprocess.Popen(
        [
            *args,
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            str(workspace),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        run = subprocess.run(
            ["node", str(DRIVER)],
            env={
                **env,
                "CS_URL": f"http://127.0.0.1:{port}/?folder={workspace}",
                "OUT_DIR": str(artifacts),
                "PM_FILE": str(report),
                "PM_FORGE_TEXT": FORGE_TEXT,
                "PM_INJECT_QUERY": INJECT_QUERY,
                "PM_TEAM_KEY": team_key,
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    full_log = "".join(
        p.read_text(errors="replace") for p in user.glob("logs/*/exthost*/pattern-memory.*/*.log")
    )
    logs = full_log[-3000:]
    # kept beside the screenshots: pytest's temp folders rotate away
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "extension.log").write_text(full_log)
    shutil.copy(tmp_path / "code-server.log", artifacts / "code-server.log")
    context = (
        f"driver: {run.stdout[-2000:]} {run.stderr[-2000:]}\n"
        f"artifacts: {artifacts}\nextension log:\n{logs}"
    )
    result = json.loads((artifacts / "result.json").read_text())
    assert result["ok"], f"{result.get('err')} after steps {result['steps']}\n{context}"
    assert "users.get(user_id)" in result["hover"] and 'return "unknown"' in result["hover"], (
        result["hover"]
    )
    count = re.search(r"(\d+) patterns", result["status"])
    assert count and int(count.group(1)) >= 1, result["status"]  # the history's fixes
    assert "Apply learned fix: KeyError for unknown users in display_name" in result["menu"], (
        result["menu"]
    )
    assert report.read_text() == case.REPORT_FIXED
    assert case.FIX_MESSAGE in result["search_row"], result["search_row"]
    assert "users[user_id]" in result["diff_text"] and "users.get(user_id)" in result["diff_text"]
    for shot in (
        "hover.png",
        "learned_fixes.png",
        "search.png",
        "diff.png",
        "forge.png",
        "stats.png",
    ):
        assert (artifacts / shot).stat().st_size > 10_000, shot

    # The status bar spun while the server indexed on start (its $/progress; no palette
    # command ran), then showed the count.
    seen = result["status_seen"]
    assert any(s["spin"] for s in seen), seen
    assert not seen[-1]["spin"] and re.search(r"\d+ patterns", seen[-1]["text"]), seen
    assert "$/progress" in full_log and "Pattern Memory: indexing" in full_log, context

    # Learned Fixes: the fix with its pattern's success rate (patternMemory.get); the click
    # selected the look-alike's line.
    assert "KeyError for unknown users" in result["fix_row"], result["fix_row"]
    assert re.search(
        r"\d+% (success, \d+ uses?|\(prior, no uses yet\)) · line \d+", result["fix_row"]
    ), result["fix_row"]
    bug_line = case.REPORT.splitlines().index("    member = members[member_id]") + 1
    assert re.match(rf"Ln {bug_line}, Col \d+ \(\d+ selected\)", result["selection"]), result[
        "selection"
    ]

    # Forge from the selection: one new pattern, counted in the status bar.
    assert "forged 1 pattern from the selection" in result["forge"], result["forge"]
    forged = re.search(r"(\d+) patterns", result["status_after_forge"])
    assert forged and int(forged.group(1)) == int(count.group(1)) + 1, result["status_after_forge"]

    # The copied block holds the past fix.
    assert "copied to the clipboard" in result["inject"], result["inject"]
    assert result["block"].startswith("<learned-patterns"), result["block"][:300]
    assert "users.get(user_id)" in result["block"], result["block"][:2000]

    # Stats: the notification's counts, the whole result in the output channel.
    assert re.search(r"\d+ patterns \(\d+ active, \d+ retired\)", result["stats"]), result["stats"]
    assert "stats: {" in full_log and "schemaVersion" in full_log, context

    # Sync with Team: in the palette exactly when the server offers patternMemory.sync.
    server_syncs = '"patternMemory.sync"' in full_log  # the initialize result's commands
    offered = any("Sync with Team" in row for row in result["sync_rows"])
    assert offered == server_syncs, (server_syncs, result["sync_rows"])

    # ... and, with the key set, it pulls the teammate's fix from the real team server: the
    # module holding its before-code gets the squiggle and a hover marked as the team's.
    assert "pulled 1" in result["sync"], result["sync"]
    assert "Pattern Memory: team sync" in full_log, context  # its $/progress
    assert "Team fix" in result["team_hover"], result["team_hover"]
    assert "team pattern from dana" in result["team_hover"], result["team_hover"]
    assert "with conn.cursor() as cur" in result["team_hover"], result["team_hover"]
    assert (artifacts / "team_hover.png").stat().st_size > 10_000

    # The team key: the server restarted and was handed the key in initializationOptions,
    # beside the settings section.
    assert "restarting: the team API key changed" in full_log, context
    # sent in initialize (the verbose trace shows the field, its value blanked out) ...
    assert re.search(r'"teamApiKey":\s*"<redacted>"', full_log), context
    # ... and written nowhere: no log, no settings file
    assert team_key not in full_log
    assert team_key not in (tmp_path / "code-server.log").read_text(errors="replace")
    assert "team API key: received from the editor" in full_log, context  # the server's log
    for settings_file in [*user.rglob("settings.json"), *workspace.rglob("settings.json")]:
        assert team_key not in settings_file.read_text(), settings_file
