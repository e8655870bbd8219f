"""Regressions from review: what a merge checks before working, what it leaves when it
fails or is stopped, and the seed's registry layout as an output."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from pattern_memory import cli
from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import make_adapter, read_tensors, write_tensors


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def merge_cli(*args: str | Path) -> int:
    return cli.main(["merge-adapters", "--created-by", "t@example.com", *map(str, args)])


def poison(folder: Path) -> None:
    """A NaN in the last tensor: a merge that got as far as reading values would fail on it."""
    weights = folder / "adapter_model.safetensors"
    tensors = {k: ("F16", v.astype(np.float64)) for k, v in load_file(str(weights)).items()}
    tensors[sorted(tensors)[-1]][1][0, 0] = np.nan
    write_tensors(weights, tensors)


@pytest.fixture
def earlier(tmp_path: Path) -> tuple[list[Path], Path, bytes]:
    """Two inputs, and out.safetensors + registry reg/ holding version v1 from a merge."""
    inputs = [make_adapter(tmp_path / name, seed=i).path for i, name in enumerate(("al", "bo"))]
    output = tmp_path / "out.safetensors"
    reg = tmp_path / "reg"
    assert (
        merge_cli(
            "--adapters", *inputs, "--output", output, "--registry", reg, "--version-name", "v1"
        )
        == 0
    )
    return inputs, output, output.read_bytes()


@pytest.mark.parametrize("name", ["bad name!", "v1"])
def test_version_name_is_checked_before_any_work(
    tmp_path: Path,
    earlier: tuple[list[Path], Path, bytes],
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs, output, before = earlier
    poison(inputs[1])  # the name is reported, not the values: nothing was read
    capsys.readouterr()
    code = merge_cli(
        "--adapters",
        *inputs,
        "--output",
        output,
        "--registry",
        tmp_path / "reg",
        "--version-name",
        name,
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "invalid version name" in captured.err or "already exists" in captured.err
    assert "merged" not in captured.out
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_output_is_untouched_when_recording_fails(
    tmp_path: Path, earlier: tuple[list[Path], Path, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    inputs, output, before = earlier
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the registry would go\n")
    code = merge_cli("--adapters", *reversed(inputs), "--output", output, "--registry", blocked)
    assert code == 2
    assert "cannot use registry" in capsys.readouterr().err
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


TERMINATE_MIDWAY = """
import os, signal, sys
from pattern_memory.adapters import fuse
real, calls = fuse.combine, []
def terminated(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
fuse.combine = terminated
from pattern_memory.cli import main
sys.exit(main(["merge-adapters", *sys.argv[1:]]))
"""


def test_sigterm_midway_cleans_up_like_ctrl_c(
    tmp_path: Path, earlier: tuple[list[Path], Path, bytes]
) -> None:
    _, output, before = earlier
    other = [str(make_adapter(tmp_path / f"new{i}", seed=10 + i).path) for i in range(2)]
    done = subprocess.run(
        [sys.executable, "-c", TERMINATE_MIDWAY, "--adapters", *other, "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().endswith("interrupted")
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "adapters").exists()  # no version recorded


def test_in_place_merge_records_the_inputs_as_they_were(tmp_path: Path) -> None:
    first = make_adapter(tmp_path / "a.safetensors", folder=False, seed=1).path
    second = make_adapter(tmp_path / "b.safetensors", folder=False, seed=2).path
    sums = {str(first): sha256(first), str(second): sha256(second)}
    assert merge_cli("--adapters", first, second, "--output", first, "--version-name", "v1") == 0
    assert sha256(first) != sums[str(first)]  # replaced by the merge
    record = json.loads((tmp_path / "adapters" / "versions" / "v1.json").read_text())
    assert record["input_checksums"] == sums


def test_config_is_part_of_an_inputs_identity(tmp_path: Path) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    team = tmp_path / "team"
    assert merge_cli("--adapters", *inputs, "--output", team, "--version-name", "v1") == 0
    # The same weights with another lora_alpha are another adapter, not version v1.
    tweaked = tmp_path / "tweaked"
    shutil.copytree(team, tweaked)
    config = json.loads((tweaked / "adapter_config.json").read_text())
    config["lora_alpha"] *= 2
    (tweaked / "adapter_config.json").write_text(json.dumps(config))
    extra = make_adapter(tmp_path / "extra", seed=5).path
    for name, source in (("v2", team), ("v3", tweaked)):
        assert (
            merge_cli(
                "--adapters", source, extra, "--output", tmp_path / name, "--version-name", name
            )
            == 0
        )
    versions = tmp_path / "adapters" / "versions"
    v2 = json.loads((versions / "v2.json").read_text())
    v3 = json.loads((versions / "v3.json").read_text())
    assert v2["parent_versions"] == ["v1", "extra"]
    assert v3["parent_versions"] == ["tweaked", "extra"]
    assert v2["input_checksums"][str(team)] == v3["input_checksums"][str(tweaked)]
    assert v2["input_config_checksums"][str(team)] != v3["input_config_checksums"][str(tweaked)]
    v1 = json.loads((versions / "v1.json").read_text())
    assert v1["config_checksum"] == sha256(versions / "v1.adapter_config.json")


def test_seed_layout_writes_into_the_registry_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    make_adapter(tmp_path / "alice", seed=1)
    make_adapter(tmp_path / "bob", seed=2)
    merged = Path("adapters/merged.safetensors")
    for name in ("v1", "v2"):
        assert (
            merge_cli("--adapters", "alice", "bob", "--output", merged, "--version-name", name) == 0
        )
    registry = tmp_path / "adapters"
    assert not (registry / "adapters").exists()
    assert json.loads((registry / "active.json").read_text()) == {
        "active": "v2",
        "history": ["v1"],
    }
    assert (registry / "merged.safetensors").read_bytes() == (
        registry / "versions" / "v2.safetensors"
    ).read_bytes()
    assert (registry / "merged.adapter_config.json").is_file()
    active = (registry / "merged.safetensors").read_bytes()
    # Recorded but not activated: the active copy and active.json stay as they were.
    assert (
        merge_cli(
            "--adapters",
            "bob",
            "alice",
            "--weights",
            "0.9",
            "0.1",
            "--output",
            merged,
            "--version-name",
            "v3",
            "--no-activate",
        )
        == 0
    )
    assert (registry / "merged.safetensors").read_bytes() == active
    assert json.loads((registry / "active.json").read_text())["active"] == "v2"
    assert (registry / "versions" / "v3.safetensors").read_bytes() != active
    record = json.loads((registry / "versions" / "v3.json").read_text())
    assert record["output_path"] == str(merged.resolve())
    # Without a record, writing the active copy behind active.json's back is refused.
    capsys.readouterr()
    assert merge_cli("--adapters", "bob", "alice", "--output", merged, "--no-record") == 2
    assert "drop --no-record" in capsys.readouterr().err
    assert (registry / "merged.safetensors").read_bytes() == active
    assert leftovers(tmp_path) == []


def test_a_new_adapters_folder_is_a_registry_from_the_first_merge(tmp_path: Path) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    assert (
        merge_cli(
            "--adapters",
            *inputs,
            "--output",
            tmp_path / "adapters" / "merged.safetensors",
            "--version-name",
            "v1",
        )
        == 0
    )
    assert json.loads((tmp_path / "adapters" / "active.json").read_text())["active"] == "v1"
    assert not (tmp_path / "adapters" / "adapters").exists()


def test_a_failed_commit_keeps_the_previous_config_with_the_previous_weights(
    tmp_path: Path,
) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    # The weights cannot be put in place (a folder is in the way) after the new config was
    # written: the old config must be back.
    output = tmp_path / "out.safetensors"
    output.mkdir()
    old_config = tmp_path / "out.adapter_config.json"
    old_config.write_text('{"r": 99, "lora_alpha": 1}\n')
    with pytest.raises(AdapterError, match="cannot write"):
        merge_adapters(MergeRequest(inputs, output))
    assert old_config.read_text() == '{"r": 99, "lora_alpha": 1}\n'
    assert leftovers(tmp_path) == []
    # ... and a config that was not there before is not left behind either.
    old_config.unlink()
    with pytest.raises(AdapterError, match="cannot write"):
        merge_adapters(MergeRequest(inputs, output))
    assert not old_config.exists()


def test_the_output_pair_keeps_the_outputs_permissions(tmp_path: Path) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    result = merge_adapters(MergeRequest(inputs, tmp_path / "team"))
    assert result.config_path is not None
    os.chmod(result.weights_path, 0o640)
    os.chmod(result.config_path, 0o604)
    merge_adapters(MergeRequest(list(reversed(inputs)), tmp_path / "team"))
    assert result.weights_path.stat().st_mode & 0o777 == 0o640
    assert result.config_path.stat().st_mode & 0o777 == 0o604


def test_svd_rank_above_the_total_rank_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", rank=8, seed=i).path for i in range(2)]
    code = merge_cli(
        "--adapters",
        *inputs,
        "--method",
        "svd",
        "--rank",
        "20",
        "--output",
        tmp_path / "o20",
        "--no-record",
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "rank 16 ->" in out
    assert "note: --rank 20 is more than the inputs' total rank" in out
    assert "keep rank 16, exactly" in out
    assert json.loads((tmp_path / "o20" / "adapter_config.json").read_text())["r"] == 16


def test_folder_without_config_says_scale_1_was_assumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    (inputs[1] / "adapter_config.json").unlink()
    other = make_adapter(tmp_path / "plain.safetensors", folder=False, seed=3).path
    (inputs[0] / "adapter_config.json").unlink()
    code = merge_cli("--adapters", *inputs, "--output", tmp_path / "o.safetensors", "--no-record")
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert code == 0
    assert notes == [
        f"note: {inputs[0]}, {inputs[1]}: no adapter_config.json, so scale 1 (lora_alpha = r) "
        "was assumed; give --alphas to state lora_alpha"
    ]
    # Bare files, the seed's usage, are documented as scale 1: no note for them alone.
    assert (
        merge_cli("--adapters", other, other, "--output", tmp_path / "p.safetensors", "--no-record")
        == 0
    )
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("dtype", "fits", "overflows"),
    [
        ("F16", np.float32(65519.996), np.float32(65520.0)),
        ("BF16", np.uint32(0x7F7F7FFF).view(np.float32), np.uint32(0x7F7F8000).view(np.float32)),
        ("F32", np.nextafter(2.0**128 - 2.0**103, 0), 2.0**128 - 2.0**103),
    ],
)
def test_one_overflow_check_agrees_with_rounding(
    dtype: str, fits: np.floating, overflows: np.floating
) -> None:
    from pattern_memory.adapters.half import DtypeOverflowError
    from pattern_memory.adapters.safetensors_io import check_fits, encode

    for sign in (1, -1):
        check_fits(np.array([sign * fits]), dtype)
        with pytest.raises(DtypeOverflowError):
            check_fits(np.array([sign * overflows]), dtype)
    if dtype == "BF16":  # the values that fit round to the largest finite bfloat16
        stored = encode(np.array([fits, -fits], dtype=np.float32), dtype)
        assert stored.tolist() == [0x7F7F, 0xFF7F]
    else:
        target = np.float16 if dtype == "F16" else np.float32
        with np.errstate(over="ignore"):
            assert np.isfinite(np.array([fits]).astype(target)).all()
            assert np.isinf(np.array([overflows]).astype(target)).all()


def test_bfloat16_overflow_is_reported_like_the_others(tmp_path: Path) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", dtype="BF16", seed=i).path for i in range(2)]
    weights = inputs[0] / "adapter_model.safetensors"
    big = read_tensors(weights)
    last_b = sorted(k for k in big if k.endswith("lora_B.weight"))[-1]
    big[last_b][1][0, 0] = 3.0e38
    write_tensors(weights, big)
    with pytest.raises(AdapterError, match=rf"merged tensor '{last_b}' overflows BF16; choose"):
        merge_adapters(MergeRequest(inputs, tmp_path / "o.safetensors", weights=[1.0, 1.0]))
