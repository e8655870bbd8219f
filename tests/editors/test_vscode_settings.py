"""client-vscode/package.json is the one source of the extension's settings: every server
setting (Python `Settings`) is declared under `patternMemory.*` with the server's default,
range and choices, and a description; nothing else but the client's own keys. And the
extension's VS Code-free parts pass their node unit tests (`npm test`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import MISSING, fields
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from pattern_memory.settings import Between, Settings

CLIENT = Path(__file__).resolve().parents[2] / "client-vscode"
CLIENT_ONLY = {"interpreter", "trace.server"}  # read by the extension / languageclient
# The server computes these defaults at run time; the extension's empty value means "the
# server's default".
RUNTIME_DEFAULTS = {"dbPath": ""}


def declared() -> dict[str, dict[str, Any]]:
    package = json.loads((CLIENT / "package.json").read_text())
    properties: dict[str, dict[str, Any]] = package["contributes"]["configuration"]["properties"]
    return {key.removeprefix("patternMemory."): spec for key, spec in properties.items()}


def _bounds(attribute: str) -> Between | None:
    """The bounds in a setting's Annotated type, if it has any."""
    kind = get_type_hints(Settings, include_extras=True)[attribute]
    found = [c for c in getattr(kind, "__metadata__", ()) if isinstance(c, Between)]
    return found[0] if found else None


def test_every_server_setting_is_declared_with_its_default() -> None:
    specs = declared()
    server_keys = {f.metadata["key"] for f in fields(Settings)}
    assert set(specs) - CLIENT_ONLY == server_keys  # a key added to Settings must appear here
    for f in fields(Settings):
        key = f.metadata["key"]
        spec = specs[key]
        assert spec.get("description"), key
        if f.default is MISSING:
            assert spec["default"] == RUNTIME_DEFAULTS[key], key
            continue
        default = f.default.value if isinstance(f.default, Enum) else f.default
        assert spec["default"] == default, key
        assert type(spec["default"]) is type(default) or default is None, key
        bounds = _bounds(f.name)
        if bounds is not None:
            assert (spec.get("minimum"), spec.get("maximum")) == (bounds.low, bounds.high), key
        if isinstance(f.default, Enum):
            assert spec["enum"] == [member.value for member in type(f.default)], key


def test_the_extensions_unit_tests_pass() -> None:
    if shutil.which("node") is None or not (CLIENT / "node_modules").is_dir():
        pytest.skip("node or client-vscode/node_modules missing: `cd client-vscode && npm ci`")
    run = subprocess.run(
        ["npm", "test"], cwd=CLIENT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # Every test() in test/*.test.ts ran and passed (none silently dropped by the bundler).
    declared = sum(
        len(re.findall(r"^test\(", p.read_text(), re.MULTILINE))
        for p in (CLIENT / "test").glob("*.test.ts")
    )
    assert declared >= 6, declared
    assert "# fail 0" in run.stdout and f"# pass {declared}\n" in run.stdout, run.stdout[-2000:]
