"""The README's Neovim 0.11 setup, run as written in a real Neovim: Neovim sends its
`settings` (the runtime file's empty `patternMemory` section) in a didChangeConfiguration right
after start, and the server must keep the `init_options` the user gave (here a custom
dbPath) instead of falling back to the defaults."""

from __future__ import annotations

import json
import os
import re
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

README = Path(__file__).resolve().parents[2] / "README.md"

# {readme} is the README's snippet, untouched. Before it, the test's own vim.lsp.config call
# adds what a sandbox needs (the server command, the database path); vim.lsp.config merges
# the calls, so the README's options still apply on top.
SCRIPT = """
vim.opt.swapfile = false
vim.cmd("filetype on")
local out = {{}}
local ok, err = pcall(function()
  vim.opt.runtimepath:prepend({client_dir})
  vim.lsp.config("pattern_memory", {{ cmd = {cmd}, init_options = {{ dbPath = {db} }} }})
  {readme}
  vim.cmd("edit " .. vim.fn.fnameescape({file}))
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(30000, function() return #vim.lsp.get_clients({{ bufnr = buf }}) > 0 end, 20)
  local client = vim.lsp.get_clients({{ bufnr = buf }})[1]
  out.attached = client ~= nil
  if not client then return end
  out.settings = vim.json.encode(client.settings)
  -- Stats until indexing on start (the default) has put the fix in the store.
  vim.wait(60000, function()
    local reply = client.request_sync("workspace/executeCommand",
      {{ command = "patternMemory.stats", arguments = {{}} }}, 5000, buf)
    out.stats = reply and reply.result
    return out.stats ~= nil and out.stats.patterns ~= nil and out.stats.patterns > 0
  end, 200)
end)
out.ok, out.err = ok, err and tostring(err)
vim.fn.writefile({{ vim.fn.json_encode(out) }}, {out})
for _, c in ipairs(vim.lsp.get_clients()) do c:stop() end
vim.wait(5000, function() return #vim.lsp.get_clients() == 0 end, 20)
vim.cmd("qall!")
"""


def readme_snippet() -> str:
    """The README's `vim.lsp.config` + `vim.lsp.enable` block (Neovim 0.11+)."""
    blocks = re.findall(r"```lua\n(.*?)```", README.read_text(), re.DOTALL)
    [snippet] = [b for b in blocks if "vim.lsp.enable" in b and "setup(" not in b]
    return str(snippet)


def test_readme_setup_keeps_init_options_after_neovims_settings_change(
    repo_builder: RepoBuilder,
    tmp_path: Path,
    find_neovim: Callable[[str], Path],
    client_dir: Path,
) -> None:
    binary = find_neovim("0.11")
    repo_builder.commit("Add loader", {"app.py": "def load(db, key):\n    return db[key]\n"})
    repo_builder.commit(
        "fix: missing keys crash the loader",
        {
            "app.py": "def load(db, key):\n    if key not in db:\n        return None\n"
            "    return db[key]\n"
        },
    )
    db_path = tmp_path / "custom" / "patterns.db"
    out = tmp_path / "out.json"
    script = tmp_path / "readme.lua"
    script.write_text(
        SCRIPT.format(
            client_dir=json.dumps(str(client_dir)),
            cmd=_lua_list([sys.executable, "-m", "pattern_memory", "serve"]),
            db=json.dumps(str(db_path)),
            readme=readme_snippet(),
            file=json.dumps(str(repo_builder.path / "app.py")),
            out=json.dumps(str(out)),
        )
    )
    env = {
        **os.environ,
        **{
            name: str(tmp_path / "xdg" / name.lower())
            for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
        },
    }
    completed = subprocess.run(
        [str(binary), "--headless", "-n", "-i", "NONE", "-u", str(script)],
        env=env,
        cwd=repo_builder.path,
        capture_output=True,
        text=True,
        timeout=150,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.exists(), completed.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["ok"], result.get("err")
    assert result["attached"]
    # Neovim did send its settings (the case that used to wipe the init_options).
    assert "patternMemory" in result["settings"]
    stats = result["stats"]
    assert stats["dbPath"] == str(db_path), stats
    assert stats["patterns"] > 0
    with PatternMemory.open(Settings(db_path=db_path)) as memory:
        assert memory.stats().patterns == stats["patterns"]


def _lua_list(items: list[str]) -> str:
    return "{ " + ", ".join(json.dumps(item) for item in items) + " }"
