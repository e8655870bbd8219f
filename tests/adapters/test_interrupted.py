"""An interrupted or failed merge never leaves a half-written output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from pattern_memory.adapters import fuse
from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import make_adapter, write_tensors


@pytest.fixture
def previous(tmp_path: Path) -> tuple[list[Path], Path, bytes]:
    """Two inputs and an output that a previous merge left in place."""
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    output = tmp_path / "merged.safetensors"
    merge_adapters(MergeRequest(inputs, output))
    return inputs, output, output.read_bytes()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_bad_values_are_refused_before_writing(
    tmp_path: Path, previous: tuple[list[Path], Path, bytes]
) -> None:
    inputs, output, before = previous
    weights = inputs[1] / "adapter_model.safetensors"
    tensors = {k: ("F16", v.astype(np.float64)) for k, v in load_file(str(weights)).items()}
    tensors[sorted(tensors)[-1]][1][0, 0] = np.nan  # in the last module merged
    write_tensors(weights, tensors)
    with pytest.raises(AdapterError, match="NaN or Inf"):
        merge_adapters(MergeRequest(inputs, output))
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failure_midway_keeps_the_previous_output(
    tmp_path: Path, previous: tuple[list[Path], Path, bytes]
) -> None:
    inputs, output, before = previous
    weights = inputs[1] / "adapter_model.safetensors"
    tensors = {k: ("F16", v.astype(np.float64)) for k, v in load_file(str(weights)).items()}
    last_b = sorted(k for k in tensors if k.endswith("lora_B.weight"))[-1]
    tensors[last_b][1][0, 0] = 60000.0  # fits float16; times scale 2 it does not
    write_tensors(weights, tensors)
    with pytest.raises(AdapterError, match=f"merged tensor '{re.escape(last_b)}' overflows F16"):
        merge_adapters(MergeRequest(inputs, output, weights=[1.0, 1.0]))
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_interrupt_midway_keeps_the_previous_output(
    tmp_path: Path, previous: tuple[list[Path], Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _inputs, output, before = previous
    calls = []
    real_combine = fuse.combine

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_combine(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fuse, "combine", interrupted)
    other = [make_adapter(tmp_path / f"new{i}", seed=10 + i).path for i in range(2)]
    with pytest.raises(KeyboardInterrupt):
        merge_adapters(MergeRequest(other, output))
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


KILL_MIDWAY = """
import os, signal, sys
from pathlib import Path
from pattern_memory.adapters import fuse
real, calls = fuse.combine, []
def killed(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
fuse.combine = killed
from pattern_memory.cli import main
sys.exit(main(["merge-adapters", *sys.argv[1:]]))
"""


def test_killed_process_leaves_the_previous_output_whole(
    tmp_path: Path, previous: tuple[list[Path], Path, bytes]
) -> None:
    _, output, before = previous
    other = [str(make_adapter(tmp_path / f"new{i}", seed=10 + i).path) for i in range(2)]
    done = subprocess.run(
        [sys.executable, "-c", KILL_MIDWAY, "--adapters", *other, "--output", str(output)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9
    assert output.read_bytes() == before
    assert not (tmp_path / "adapters").exists()  # no version was recorded
