"""A merge split across two processes (split.py) gives the same output as one process, and
fails, is interrupted or loses its second process as cleanly."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from pattern_memory.adapters import fuse, split
from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.adapters.merge import Method
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import make_adapter, write_tensors

pytestmark = pytest.mark.skipif(not split.can_fork(), reason="needs Linux, fork and 2 cores")

MODULES = {f"base_model.model.model.layers.{i}.self_attn.q_proj": (24, 32) for i in range(8)}


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    return [make_adapter(tmp_path / f"in{i}", seed=i, modules=MODULES).path for i in range(3)]


def before_each_merge(
    monkeypatch: pytest.MonkeyPatch,
    *,
    parent: Callable[[], None] | None = None,
    child: Callable[[], None] | None = None,
) -> None:
    """Run parent() or child() before each module merged in that process (this one, or the
    one forked for the second half)."""
    this_process = os.getpid()
    real = fuse.combine

    def combine(*args: object, **kwargs: object) -> object:
        action = parent if os.getpid() == this_process else child
        if action is not None:
            action()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fuse, "combine", combine)


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Forks whatever the size; each merged module's process id lands in the returned file."""
    monkeypatch.setattr(split, "MIN_FORK_BYTES", 0)
    log = tmp_path / "pids.txt"

    def record() -> None:
        with log.open("a") as stream:
            stream.write(f"{os.getpid()}\n")

    before_each_merge(monkeypatch, parent=record, child=record)
    return log


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def stored_bits(path: Path) -> dict[str, bytes]:
    return {k: v.tobytes() for k, v in load_file(str(path)).items()}


@pytest.mark.parametrize("method", [Method.LINEAR, Method.CAT, Method.SVD])
def test_two_processes_write_what_one_writes(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch, method: Method
) -> None:
    rank = 4 if method is Method.SVD else None
    split_result = merge_adapters(MergeRequest(inputs, tmp_path / "two", method, rank=rank))
    assert len(set(pids.read_text().split())) == 2  # both processes merged modules
    monkeypatch.setattr(split, "MIN_FORK_BYTES", 1 << 40)
    pids.unlink()
    single = merge_adapters(MergeRequest(inputs, tmp_path / "one", method, rank=rank))
    assert set(pids.read_text().split()) == {str(os.getpid())}
    assert stored_bits(split_result.weights_path) == stored_bits(single.weights_path)
    assert (tmp_path / "two/adapter_config.json").read_text() == (
        tmp_path / "one/adapter_config.json"
    ).read_text()
    if method is Method.SVD:
        assert split_result.svd_relative_error == pytest.approx(single.svd_relative_error)
        assert split_result.svd_max_relative_error == single.svd_max_relative_error
    assert no_child_left()


def test_an_overflow_in_the_second_process_is_reported_and_keeps_the_output(
    tmp_path: Path, inputs: list[Path], pids: Path
) -> None:
    output = tmp_path / "merged.safetensors"
    output.write_bytes(b"previous")
    weights = inputs[1] / "adapter_model.safetensors"
    tensors = {k: ("F16", v.astype(np.float64)) for k, v in load_file(str(weights)).items()}
    last_b = sorted(k for k in tensors if k.endswith("lora_B.weight"))[-1]
    tensors[last_b][1][0, 0] = 60000.0  # fits float16; with the other inputs it does not
    write_tensors(weights, tensors)
    with pytest.raises(AdapterError, match=f"merged tensor '{re.escape(last_b)}' overflows F16"):
        merge_adapters(MergeRequest(inputs, output, weights=[1.0, 1.0, 1.0]))
    assert output.read_bytes() == b"previous"
    assert leftovers(tmp_path) == [] and no_child_left()


def test_bad_values_in_the_second_process_name_the_file_and_tensor(
    tmp_path: Path, inputs: list[Path], pids: Path
) -> None:
    weights = inputs[2] / "adapter_model.safetensors"
    tensors = {k: ("F16", v.astype(np.float64)) for k, v in load_file(str(weights)).items()}
    last_a = sorted(k for k in tensors if k.endswith("lora_A.weight"))[-1]
    tensors[last_a][1][0, 0] = np.inf
    write_tensors(weights, tensors)
    with pytest.raises(AdapterError, match=f"{re.escape(str(weights))}: tensor '{last_a}'"):
        merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    assert leftovers(tmp_path) == [] and no_child_left()


def test_a_killed_second_process_fails_the_merge_cleanly(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_each_merge(monkeypatch, child=lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(AdapterError, match="second process was killed by signal 9"):
        merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    assert not (tmp_path / "merged.safetensors").exists()
    assert leftovers(tmp_path) == [] and no_child_left()


def test_an_interrupted_parent_stops_the_second_process(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    before_each_merge(monkeypatch, parent=interrupt)
    with pytest.raises(KeyboardInterrupt):
        merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    assert not (tmp_path / "merged.safetensors").exists()
    assert leftovers(tmp_path) == [] and no_child_left()


def test_a_process_with_other_threads_merges_alone(
    tmp_path: Path, inputs: list[Path], pids: Path
) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not split.can_fork()
        merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    finally:
        stop.set()
        other.join()
    assert set(pids.read_text().split()) == {str(os.getpid())}


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_when_fork_fails_the_merge_runs_in_one_process(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_more_processes() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(split, "_fork", no_more_processes)
    before = open_descriptors()
    result = merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    assert result.weights_path.is_file()
    assert set(pids.read_text().split()) == {str(os.getpid())}
    assert open_descriptors() == before


def test_ctrl_c_right_after_the_fork_stops_both_processes_cleanly(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C reaches the whole process group: here it arrives in both processes the moment
    the fork returns, before either is inside the code that handles it."""
    parent = os.getpid()
    marker = tmp_path / "child-escaped"
    real_fork = split._fork

    def fork_then_interrupt() -> int:
        pid = real_fork()
        os.kill(os.getpid(), signal.SIGINT)
        return pid

    monkeypatch.setattr(split, "_fork", fork_then_interrupt)
    output = tmp_path / "merged.safetensors"
    output.write_bytes(b"previous")
    before = open_descriptors()
    try:
        with pytest.raises(KeyboardInterrupt):
            merge_adapters(MergeRequest(inputs, output))
    finally:
        if os.getpid() != parent:  # the child came back into the caller's code
            marker.write_text("escaped")
            os._exit(3)
    assert not marker.exists()
    assert output.read_bytes() == b"previous"
    assert leftovers(tmp_path) == [] and no_child_left()
    assert open_descriptors() == before


def test_a_signal_the_caller_ignores_stays_ignored_in_the_second_process(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background job ignores Ctrl-C: so must its second process."""
    before_each_merge(monkeypatch, child=lambda: os.kill(os.getpid(), signal.SIGINT))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.weights_path.is_file() and no_child_left()
    assert len(set(pids.read_text().split())) == 2


def test_the_parent_stops_as_soon_as_the_second_process_fails(
    tmp_path: Path, inputs: list[Path], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged_here: list[int] = []

    def slow() -> None:
        merged_here.append(1)
        if len(merged_here) > 1:  # the first module here leaves the child time to fail
            time.sleep(0.5)

    def fail() -> None:
        raise AdapterError("the second half failed")

    before_each_merge(monkeypatch, parent=slow, child=fail)
    with pytest.raises(AdapterError, match="the second half failed"):
        merge_adapters(MergeRequest(inputs, tmp_path / "merged.safetensors"))
    assert len(merged_here) < len(MODULES) // 2  # not the whole first half
    assert leftovers(tmp_path) == [] and no_child_left()
