"""Hostile safetensors inputs (issue 10) and staging folders left by a merge killed with
SIGKILL: each is refused with one clear line, or cleaned, and nothing is written."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from safetensors import SafetensorError
from safetensors.numpy import load_file

from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.adapters.safetensors_io import read_header
from pattern_memory.adapters.staging import remove_stale_staging, staging
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import make_adapter

Q = "base_model.model.model.layers.0.self_attn.q_proj"
ENTRY = {"dtype": "F32", "shape": [2, 2]}


def write_raw(path: Path, header: bytes, data: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def refused(tmp_path: Path, bad: Path, pattern: str) -> None:
    good = make_adapter(tmp_path / "good", seed=7).path
    output = tmp_path / "out" / "merged.safetensors"
    with pytest.raises(AdapterError, match=pattern):
        merge_adapters(MergeRequest([good, bad], output, weights=[0.5, 0.5]))
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def test_a_deeply_nested_header_is_refused_without_recursion_error(tmp_path: Path) -> None:
    bad = write_raw(
        tmp_path / "deep.safetensors", b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    )
    refused(
        tmp_path, bad, r"deep\.safetensors: not a safetensors file \(its header nests too deeply"
    )


def test_a_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            read_header(fifo)
            outcome.append(None)
        except BaseException as exc:  # reported to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader so that the test run can end
        with open(fifo, "wb"):
            pass
        worker.join(5)
        pytest.fail("read_header blocked on a FIFO")
    [error] = outcome
    assert isinstance(error, AdapterError)
    assert str(error) == f"{fifo}: not a regular file (a FIFO, device or socket)"


def test_a_duplicate_tensor_name_is_refused_like_the_safetensors_library(
    tmp_path: Path,
) -> None:
    entry = json.dumps(ENTRY)[:-1]
    header = (
        f'{{"{Q}.lora_A.weight": {entry}, "data_offsets": [0, 16]}}, '
        f'"{Q}.lora_A.weight": {entry}, "data_offsets": [16, 32]}}}}'
    ).encode()
    bad = write_raw(tmp_path / "dup.safetensors", header, bytes(32))
    with pytest.raises(SafetensorError):
        load_file(str(bad))
    refused(tmp_path, bad, rf"dup\.safetensors: .*names '{Q}\.lora_A\.weight' twice")


@pytest.mark.parametrize(
    ("offsets", "data", "why"),
    [
        ([[0, 16], [24, 40]], 40, r"8 bytes between tensors"),
        ([[8, 24], [24, 40]], 40, r"the tensors cover bytes 8-40 of a data section of 40"),
        ([[0, 16], [16, 32]], 40, r"the tensors cover bytes 0-32 of a data section of 40"),
    ],
)
def test_bytes_of_the_data_section_that_belong_to_no_tensor_are_refused(
    tmp_path: Path, offsets: list[list[int]], data: int, why: str
) -> None:
    header = {
        f"{Q}.lora_A.weight": {**ENTRY, "data_offsets": offsets[0]},
        f"{Q}.lora_B.weight": {**ENTRY, "data_offsets": offsets[1]},
    }
    bad = write_raw(tmp_path / "gap.safetensors", json.dumps(header).encode(), bytes(data))
    with pytest.raises(SafetensorError):
        load_file(str(bad))
    refused(tmp_path, bad, rf"gap\.safetensors: {why}")


def staging_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_merge_killed_with_sigkill_leaves_a_folder_the_next_merge_removes(
    tmp_path: Path,
) -> None:
    inputs = [make_adapter(tmp_path / f"in{i}", seed=i).path for i in range(2)]
    output = tmp_path / "out" / "merged.safetensors"
    # A child that stages like a merge and is killed before it can clean up.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from pattern_memory.adapters.staging import staging\n"
            "with staging(Path(sys.argv[1]), None, None) as staged:\n"
            "    staged.staged_weights.write_bytes(bytes(1 << 20))\n"
            "    print('staged', flush=True); time.sleep(60)\n",
            str(output),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "staged\n"
    [left] = staging_folders(output.parent)
    # While its owner lives, a folder is never touched.
    assert remove_stale_staging(output.parent, ".merged.safetensors.") == []
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert staging_folders(output.parent) == [left]
    merge_adapters(MergeRequest(inputs, output))
    assert staging_folders(output.parent) == []
    assert output.is_file()


def test_folders_not_provably_stale_are_left_alone(tmp_path: Path) -> None:
    output = tmp_path / "merged.safetensors"
    foreign = tmp_path / ".merged.safetensors.abc.tmp"  # no owner record: not ours
    foreign.mkdir()
    reused = tmp_path / ".merged.safetensors.def.tmp"  # our pid, another start time: stale
    reused.mkdir()
    (reused / "owner").write_text(f"pattern-memory-staging {os.uname().nodename} {os.getpid()} 1\n")
    other_host = tmp_path / ".merged.safetensors.ghi.tmp"
    other_host.mkdir()
    (other_host / "owner").write_text("pattern-memory-staging elsewhere 1 1\n")
    with staging(output, None, None) as staged:
        live = staged.folder.name
        assert sorted(staging_folders(tmp_path)) == sorted([foreign.name, other_host.name, live])
    assert staging_folders(tmp_path) == sorted([foreign.name, other_host.name])
