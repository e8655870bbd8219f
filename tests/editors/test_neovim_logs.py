"""The server's INFO logs reach Neovim as INFO, not as errors (issue 10). Neovim writes
whatever a server prints on stderr to its lsp.log as `[ERROR]`; the server's own messages go
to the client as `window/logMessage` with their level, and only warnings and errors are
printed on stderr as well."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.editors.test_neovim import drive, history_with_a_fix
from tests.gitrepo import RepoBuilder

pytestmark = [pytest.mark.editor, pytest.mark.slow]


@pytest.mark.parametrize("version", ["0.7", "0.11"])
def test_server_info_logs_are_not_errors_in_neovims_log(
    version: str,
    repo_builder: RepoBuilder,
    tmp_path: Path,
    find_neovim: Callable[[str], Path],
    client_dir: Path,
    *,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binary = find_neovim(version)
    history_with_a_fix(repo_builder)
    monkeypatch.setenv("PM_LOG_LEVEL", "info")
    result = drive(
        binary=binary,
        client_dir=client_dir,
        file=repo_builder.path / "app" / "report.py",
        tmp_path=tmp_path,
        init_options={"dbPath": str(tmp_path / "patterns.db"), "indexOnStart": True},
        setup="vim.lsp.start_client" if version == "0.7" else "vim.lsp.config+enable",
        other_file=repo_builder.path / "app" / "users.py",
    )
    context = result.pop("context")
    assert result["ok"] and result["got_diagnostics"], context
    xdg = tmp_path / "xdg"
    logs = [xdg / f"xdg_{kind}_home" / "nvim" / "lsp.log" for kind in ("state", "cache")]
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    lines = text.splitlines()
    ours = [line for line in lines if "pattern store open" in line or "indexed " in line]
    # The store opened and the history was indexed: both said at INFO, shown as INFO.
    assert any("pattern store open" in line for line in ours), text[-3000:]
    assert all(line.startswith("[INFO]") for line in ours), "\n".join(ours)
    assert not [line for line in lines if line.startswith("[ERROR]")], text[-3000:]
