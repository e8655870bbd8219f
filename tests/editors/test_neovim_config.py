"""The shipped Neovim configuration (clients/neovim) read by a real Neovim: its option keys
and defaults are the server's, the runtime file for `vim.lsp.enable` gives the documented
command and root markers, and options are sent as a JSON object, unknown keys dropped."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.settings import Settings

pytestmark = [pytest.mark.editor]

# Read in Neovim; everything it reports goes to the JSON file named by the first argument.
PROBE = """
local ok, result = pcall(function()
  vim.opt.runtimepath:prepend(_G.client_dir)
  local pm = require("pattern_memory")
  local runtime_file = vim.api.nvim_get_runtime_file("lsp/pattern_memory.lua", false)[1]
  local from_runtime = dofile(runtime_file)
  local warnings = {}
  vim.notify = function(message) table.insert(warnings, message) end
  local checked = pm.config({ init_options = { minSuccessRate = 0.9, noSuchOption = 1 } })
  vim.wait(100, function() return #warnings > 0 end)
  -- The opt-in plugin entry: vim.g.pattern_memory set before plugins load.
  vim.g.pattern_memory = { init_options = { maxInjected = 2 } }
  vim.cmd("runtime! plugin/pattern_memory.lua")
  local registered
  if vim.lsp.config and vim.lsp.enable then
    registered = vim.lsp.config["pattern_memory"].init_options
  else
    local autocmds = vim.api.nvim_get_autocmds({ group = "pattern_memory", event = "FileType" })
    registered = #autocmds > 0 and { maxInjected = 2 } or nil
  end
  return {
    registered = registered,
    defaults = pm.option_defaults,
    runtime = { cmd = from_runtime.cmd, root_markers = from_runtime.root_markers,
                filetypes = from_runtime.filetypes, name = from_runtime.name,
                init_options = vim.json.encode(from_runtime.init_options) },
    checked = checked.init_options,
    settings = checked.settings,
    warnings = warnings,
  }
end)
vim.fn.writefile({ vim.fn.json_encode(ok and result or { error = tostring(result) }) }, _G.out)
"""


def probe(binary: Path, client_dir: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "config.json"
    script = tmp_path / "probe.lua"
    script.write_text(
        f"_G.client_dir = {json.dumps(str(client_dir))}\n_G.out = {json.dumps(str(out))}\n{PROBE}"
    )
    subprocess.run(
        [
            str(binary),
            "--headless",
            "-n",
            "-i",
            "NONE",
            "-u",
            "NONE",
            "-c",
            f"luafile {script}",
            "-c",
            "qall!",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    return result


@pytest.mark.parametrize("version", ["0.7", "0.11"])
def test_the_client_config_matches_the_server(
    version: str, tmp_path: Path, find_neovim: Callable[[str], Path], client_dir: Path
) -> None:
    result = probe(find_neovim(version), client_dir, tmp_path)
    server_defaults = Settings().to_options()
    assert set(result["defaults"]) == set(Settings.keys())
    for key, value in result["defaults"].items():
        if key in {"dbPath", "teamUrl"}:
            assert value == ""  # "the server's default": a per-machine path / no server
        else:
            assert value == server_defaults[key], key

    runtime = result["runtime"]
    assert runtime["name"] == "pattern_memory"
    assert runtime["cmd"] == ["pattern-memory", "serve"]
    assert runtime["root_markers"] == [".git"]
    assert "python" in runtime["filetypes"]
    assert runtime["init_options"] == "{}"  # an object, not the array an empty table makes

    assert result["checked"] == {"minSuccessRate": 0.9}
    assert result["settings"] == {"patternMemory": {"minSuccessRate": 0.9}}
    assert any("noSuchOption" in warning for warning in result["warnings"])
    # vim.g.pattern_memory + the plugin entry registered the server (0.11: in vim.lsp.config;
    # before: a FileType autocommand).
    assert result["registered"] == {"maxInjected": 2}
