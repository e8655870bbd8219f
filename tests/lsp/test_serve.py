"""The `serve` subcommand itself: TCP transport and a bad address."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _initialize_stat_and_exit(client: LanguageClient, root: Path, db: Path) -> None:
    """A fresh server's whole life: initialize, an empty store's stats, shutdown, exit."""
    result = await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            initialization_options={"dbPath": str(db), "indexOnStart": False},
        )
    )
    assert result.server_info is not None and result.server_info.name == "pattern-memory"
    client.initialized(types.InitializedParams())
    stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="patternMemory.stats")
    )
    assert stats["patterns"] == 0
    await client.shutdown_async(None)
    client.exit(None)


async def test_serves_over_tcp(tmp_path: Path, fix_repo: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pattern_memory", "serve", "--tcp", f"127.0.0.1:{port}"],
    )
    client = LanguageClient("tcp-test", "1")
    try:
        for _ in range(200):  # the server needs a moment to import and listen
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        await _initialize_stat_and_exit(client, fix_repo, tmp_path / "tcp.db")
        assert server.wait(timeout=30) == 0
    finally:
        await client.stop()
        if server.poll() is None:
            server.kill()
        server.wait()


def test_a_bad_address_is_one_clear_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pattern_memory", "serve", "--tcp", "localhost"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "expected HOST:PORT" in run.stderr
    assert "Traceback" not in run.stderr


async def test_accepts_stdio_flag(tmp_path: Path, fix_repo: Path) -> None:
    # vscode-languageclient's TransportKind.stdio starts `serve --stdio`.
    client = LanguageClient("stdio-test", "1")
    await client.start_io(sys.executable, "-m", "pattern_memory", "serve", "--stdio")
    try:
        result = await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=fix_repo.as_uri(),
                initialization_options={"dbPath": str(tmp_path / "io.db"), "indexOnStart": False},
            )
        )
        assert result.server_info is not None and result.server_info.name == "pattern-memory"
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()


def test_stdio_and_tcp_exclude_each_other() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pattern_memory", "serve", "--stdio", "--tcp", "127.0.0.1:2087"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "not allowed with argument" in run.stderr and "Traceback" not in run.stderr


async def test_a_workspace_package_does_not_shadow_a_dependency(
    tmp_path: Path, fix_repo: Path
) -> None:
    # Editors start `python -m pattern_memory serve` in the workspace, and `-m` puts it
    # first on sys.path: a checkout of httpx or pygls must not replace the real ones.
    workspace = tmp_path / "workspace"
    for name in ("httpx", "pygls", "numpy"):
        (workspace / name).mkdir(parents=True)
        (workspace / name / "__init__.py").write_text(
            'raise ImportError("the workspace\'s own package was imported")\n'
        )
    client = LanguageClient("shadow-test", "1")
    await client.start_io(sys.executable, "-m", "pattern_memory", "serve", cwd=str(workspace))
    try:
        await asyncio.wait_for(
            _initialize_stat_and_exit(client, fix_repo, tmp_path / "shadow.db"), timeout=120
        )
    finally:
        await client.stop()
