"""The version registry: records, activation, rollback, through the module and the CLI, and
the seed's manual rollback commands."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from pattern_memory import cli
from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.adapters.versions import Registry
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import make_adapter


def merge_version(tmp_path: Path, name: str, seed: int, registry: Registry) -> Path:
    inputs = [make_adapter(tmp_path / f"{name}-in{i}", seed=seed + i).path for i in range(2)]
    result = merge_adapters(MergeRequest(inputs, tmp_path / f"{name}.safetensors"))
    registry.record(
        weights_path=result.weights_path,
        config_path=result.config_path,
        inputs=inputs,
        method=str(result.method),
        weights=result.weights,
        version_name=name,
        created_by="alice@example.com",
    )
    return result.weights_path


def active_bytes(registry: Registry) -> bytes:
    return registry.merged_path.read_bytes()


def test_record_has_the_seeds_fields_and_more(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    output = merge_version(tmp_path, "v2.0", 1, registry)
    record = json.loads((registry.versions_dir / "v2.0.json").read_text())
    assert record["version_name"] == "v2.0"
    assert record["adapter_path"] == str(registry.versions_dir / "v2.0.safetensors")
    assert record["created_by"] == "alice@example.com"
    assert record["created_at"].endswith("Z")
    assert record["parent_versions"] == ["v2.0-in0", "v2.0-in1"]
    assert record["method"] == "cat"
    assert record["weights"] == [0.5, 0.5]
    inputs = {str(tmp_path / "v2.0-in0"), str(tmp_path / "v2.0-in1")}
    assert set(record["input_checksums"]) == inputs
    assert all(len(c) == 64 for c in record["input_checksums"].values())
    # The version owns its copy, and the active copy is where the seed expects it.
    assert Path(record["adapter_path"]).read_bytes() == output.read_bytes()
    assert active_bytes(registry) == output.read_bytes()
    config = json.loads((registry.versions_dir / "v2.0.adapter_config.json").read_text())
    assert config["r"] == 8
    assert (registry.root / "merged.adapter_config.json").read_text() == json.dumps(
        config, indent=2, sort_keys=True
    ) + "\n"
    assert registry.active() == "v2.0"


def test_a_previous_version_as_input_is_named_as_parent(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    merge_version(tmp_path, "v2.0", 1, registry)
    alice = make_adapter(tmp_path / "user-alice-v3", seed=5).path
    inputs = [registry.weights_path("v2.0"), alice]
    result = merge_adapters(MergeRequest(inputs, tmp_path / "v2.1"))
    record = registry.record(
        weights_path=result.weights_path,
        config_path=result.config_path,
        inputs=inputs,
        method="cat",
        weights=result.weights,
    )
    assert record.parent_versions == ["v2.0", "user-alice-v3"]
    assert record.version_name.startswith("merge-")


def test_overwriting_the_output_does_not_change_the_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    output = merge_version(tmp_path, "v1", 1, registry)
    kept = registry.weights_path("v1").read_bytes()
    inputs = [make_adapter(tmp_path / f"other{i}", seed=20 + i).path for i in range(2)]
    merge_adapters(MergeRequest(inputs, output))  # same --output again
    assert output.read_bytes() != kept
    with open(output, "r+b") as stream:  # even writing into the file in place
        stream.write(b"\0" * 64)
    assert registry.weights_path("v1").read_bytes() == kept


def test_activate_and_rollback(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    v1 = merge_version(tmp_path, "v1", 1, registry).read_bytes()
    v2 = merge_version(tmp_path, "v2", 3, registry).read_bytes()
    v3 = merge_version(tmp_path, "v3", 5, registry).read_bytes()
    assert registry.active() == "v3"
    assert registry.history() == ["v1", "v2"]

    assert registry.rollback().version_name == "v2"
    assert active_bytes(registry) == v2
    assert registry.rollback().version_name == "v1"
    assert active_bytes(registry) == v1
    with pytest.raises(AdapterError, match="nothing to roll back to"):
        registry.rollback()

    registry.activate("v3")
    assert active_bytes(registry) == v3
    assert registry.rollback().version_name == "v1"

    registry.activate("v2")
    registry.activate("v3")
    assert registry.rollback("v1").version_name == "v1"  # rollback to a named version
    assert registry.history() == []
    with pytest.raises(AdapterError, match=r"no version 'v9' in .* \(v1, v2, v3\)"):
        registry.activate("v9")


def test_activating_a_version_without_config_removes_the_stale_one(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    merge_version(tmp_path, "v1", 1, registry)
    bare = [make_adapter(tmp_path / f"b{i}.safetensors", seed=i, folder=False) for i in (0, 1)]
    result = merge_adapters(MergeRequest([b.path for b in bare], tmp_path / "b.safetensors"))
    registry.record(
        weights_path=result.weights_path,
        config_path=None,
        inputs=[b.path for b in bare],
        method="cat",
        weights=result.weights,
        version_name="v2",
    )
    assert not (registry.root / "merged.adapter_config.json").exists()
    registry.rollback()
    assert (registry.root / "merged.adapter_config.json").exists()


def test_merge_can_record_without_activating(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    merge_version(tmp_path, "v1", 1, registry)
    inputs = [make_adapter(tmp_path / f"x{i}", seed=9 + i).path for i in range(2)]
    result = merge_adapters(MergeRequest(inputs, tmp_path / "x.safetensors"))
    registry.record(
        weights_path=result.weights_path,
        config_path=None,
        inputs=inputs,
        method="cat",
        weights=result.weights,
        version_name="v2",
        activate=False,
    )
    assert registry.active() == "v1"
    assert [r.version_name for r in registry.versions()] == ["v1", "v2"]


def test_version_names_are_checked(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    merge_version(tmp_path, "v1", 1, registry)
    args = {
        "weights_path": registry.weights_path("v1"),
        "config_path": None,
        "inputs": [],
        "method": "cat",
        "weights": [],
    }
    with pytest.raises(AdapterError, match="version 'v1' already exists"):
        registry.record(**args, version_name="v1")  # type: ignore[arg-type]
    with pytest.raises(AdapterError, match=r"invalid version name '\.\./evil'"):
        registry.record(**args, version_name="../evil")  # type: ignore[arg-type]
    with pytest.raises(AdapterError, match=r"invalid version name 'v1\.adapter_config'"):
        registry.record(**args, version_name="v1.adapter_config")  # type: ignore[arg-type]


def test_seeds_manual_rollback_commands_work_as_written(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "adapters")
    v20 = merge_version(tmp_path, "v2.0", 1, registry).read_bytes()
    v21 = merge_version(tmp_path, "v2.1", 3, registry).read_bytes()
    listing = subprocess.run(
        ["bash", "-c", "ls -la adapters/versions/"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "v2.0.safetensors" in listing and "v2.1.safetensors" in listing
    subprocess.run(
        ["bash", "-c", "cp adapters/versions/v2.0.safetensors adapters/merged.safetensors"],
        cwd=tmp_path,
        check=True,
    )
    assert active_bytes(registry) == v20
    # The copy went to the active file only: no stored version changed.
    assert registry.weights_path("v2.1").read_bytes() == v21
    assert registry.weights_path("v2.0").read_bytes() == v20


def test_cli_list_activate_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, seed in (("v1", 1), ("v2", 3)):
        inputs = [str(make_adapter(tmp_path / f"{name}-{i}", seed=seed + i).path) for i in (0, 1)]
        argv = ["merge-adapters", "--adapters", *inputs, "--output", f"{name}.safetensors"]
        assert cli.main([*argv, "--version-name", name]) == 0
    capsys.readouterr()
    assert cli.main(["adapters", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("  v1 ") and lines[1].startswith("* v2 ")
    assert cli.main(["adapters", "rollback"]) == 0
    assert "active: v1" in capsys.readouterr().out
    assert Path("adapters/merged.safetensors").read_bytes() == Path("v1.safetensors").read_bytes()
    assert cli.main(["adapters", "activate", "v2"]) == 0
    assert Path("adapters/merged.safetensors").read_bytes() == Path("v2.safetensors").read_bytes()
    assert cli.main(["adapters", "activate", "nope"]) == 2
    assert "error: no version 'nope'" in capsys.readouterr().err
    assert cli.main(["adapters", "list", "--registry", str(tmp_path / "elsewhere")]) == 0
    assert "no versions" in capsys.readouterr().out


def test_copies_work_where_copy_file_range_is_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Older kernels and some file systems refuse copy_file_range; that is outside our reach.
    def unsupported(*args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", unsupported)
    registry = Registry(tmp_path / "adapters")
    output = merge_version(tmp_path, "v1", 1, registry)
    assert registry.weights_path("v1").read_bytes() == output.read_bytes()
    assert active_bytes(registry) == output.read_bytes()
