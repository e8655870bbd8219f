"""The seed's command lines, as written, through the script and through `pattern-memory`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pattern_memory import cli
from tests.adapters.lora_files import exact_update, make_adapter, merged_update, relative_error

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "merge_lora_adapters.py"


def run_script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "USER": "tester"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def bare(cwd: Path, *names: str) -> list:
    return [
        make_adapter(cwd / name, rank=4, folder=False, seed=i, dtype="F32")
        for i, name in enumerate(names)
    ]


SEED_FORMS = [
    (
        ["user1_adapter.safetensors", "user2_adapter.safetensors"],
        ["--weights", "0.6", "0.4"],
        "merged_adapter.safetensors",
        [0.6, 0.4],
    ),
    (
        ["alice_adapter.safetensors", "bob_adapter.safetensors"],
        ["--success-rates", "0.85", "0.65"],
        "team_adapter.safetensors",
        [0.85 / 1.5, 0.65 / 1.5],
    ),
    (
        ["adapter1.safetensors", "adapter2.safetensors"],
        [],
        "merged.safetensors",
        [0.5, 0.5],
    ),
    (  # Example Workflow, step 3
        ["alice_adapter.safetensors", "bob_adapter.safetensors", "carol_adapter.safetensors"],
        ["--success-rates", "0.90", "0.75", "0.85"],
        "team_merged.safetensors",
        [0.90 / 2.5, 0.75 / 2.5, 0.85 / 2.5],
    ),
]


@pytest.mark.parametrize(("names", "flags", "output", "weights"), SEED_FORMS)
def test_seed_command_lines_work_as_written(
    tmp_path: Path, names: list[str], flags: list[str], output: str, weights: list[float]
) -> None:
    adapters = bare(tmp_path, *names)
    done = run_script(tmp_path, "--adapters", *names, *flags, "--output", output)
    assert done.returncode == 0, done.stderr
    merged = merged_update(tmp_path / output, None)
    want = exact_update(adapters, weights)
    for name in want:
        assert relative_error(merged[name], want[name]) < 1e-6
    # ... and each merge is recorded as a version next to the output.
    records = list((tmp_path / "adapters" / "versions").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["parent_versions"] == [Path(n).stem for n in names]
    assert record["weights"] == pytest.approx(weights)
    assert record["created_by"] == "tester"
    assert (tmp_path / "adapters" / "merged.safetensors").read_bytes() == (
        tmp_path / output
    ).read_bytes()


def test_pattern_memory_merge_adapters_with_peft_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    adapters = [
        make_adapter(tmp_path / "alice", rank=4, alpha=8, seed=1),
        make_adapter(tmp_path / "bob", rank=8, alpha=8, seed=2),
    ]
    code = cli.main(
        [
            "merge-adapters",
            "--adapters",
            str(tmp_path / "alice"),
            str(tmp_path / "bob"),
            "--success-rates",
            "0.9",
            "0.6",
            "--output",
            str(tmp_path / "team"),
            "--method",
            "svd",
            "--rank",
            "6",
            "--version-name",
            "v1",
            "--created-by",
            "a@example.com",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "svd: relative error introduced" in out
    assert "version v1 recorded" in out
    config = json.loads((tmp_path / "team" / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["use_rslora"]) == (6, 6, False)
    assert config["target_modules"] == adapters[0].config["target_modules"]  # type: ignore[index]
    assert config["base_model_name_or_path"] == "test/llama-tiny"
    merged = merged_update(
        tmp_path / "team" / "adapter_model.safetensors", tmp_path / "team" / "adapter_config.json"
    )
    want = exact_update(adapters, [0.6, 0.4])
    # A rank-6 re-factoring of a rank-12 sum: close, not exact; the error is what was printed.
    for name in want:
        assert 0 < relative_error(merged[name], want[name]) < 0.6
    stored = tmp_path / "adapters" / "versions" / "v1.adapter_config.json"
    assert json.loads(stored.read_text()) == config


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    bare(tmp_path, "a.safetensors", "b.safetensors")
    done = run_script(
        tmp_path,
        "--adapters",
        "a.safetensors",
        "b.safetensors",
        "--weights",
        "0.5",
        "--output",
        "out.safetensors",
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "merge_lora_adapters.py: error: got 1 weights for 2 adapters; give one per adapter"
    )
    assert not (tmp_path / "out.safetensors").exists()
    assert not (tmp_path / "adapters").exists()


def test_linear_prints_that_it_is_approximate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare(tmp_path, "a.safetensors", "b.safetensors")
    code = cli.main(
        [
            "merge-adapters",
            "--adapters",
            str(tmp_path / "a.safetensors"),
            str(tmp_path / "b.safetensors"),
            "--method",
            "linear",
            "--output",
            str(tmp_path / "out.safetensors"),
            "--no-record",
        ]
    )
    assert code == 0
    assert "only approximates" in capsys.readouterr().out
    assert not (tmp_path / "adapters").exists()
