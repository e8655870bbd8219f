"""End to end in a real VS Code: code-server 4.100.3 (VS Code 1.100.3, built from npm by
scripts/install_vscode_e2e.sh) in Debian's chromium driven by Playwright. The packaged
client-vscode .vsix is installed; in a git repository whose history holds a fix, the
look-alike in another module gets the squiggle, the hover shows the fix, the status bar
counts the patterns, "Apply learned fix" rewrites the file on disk, and the palette's search
opens the fix's before/after diff. vscode_driver.js does the browser side; screenshots of
the hover, the search and the diff stay in the artifacts folder the test prints."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gitrepo import RepoBuilder

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


def _neovim_case() -> Any:
    # The Neovim test's repository (a past fix, a look-alike under other names) is reused.
    spec = importlib.util.spec_from_file_location(
        "neovim_case", Path(__file__).with_name("test_neovim.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_learned_fix_in_vscode(vsix: Path, repo_builder: RepoBuilder, tmp_path: Path) -> None:
    case = _neovim_case()
    case.history_with_a_fix(repo_builder)
    workspace = repo_builder.path
    report = workspace / "app" / "report.py"
    artifacts = tmp_path / "artifacts"
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
    logs = "".join(
        p.read_text(errors="replace")[-3000:]
        for p in user.glob("logs/*/exthost*/pattern-memory.*/*.log")
    )
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
    for shot in ("hover.png", "search.png", "diff.png"):
        assert (artifacts / shot).stat().st_size > 10_000, shot
