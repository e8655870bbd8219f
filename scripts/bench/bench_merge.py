#!/usr/bin/env python3
"""Benchmark: merge 3 LoRA adapters shaped like rank-16 adapters of a 7B Llama-style model
(32 layers x 7 projections, about 40M parameters each, fp16) and compare with the I/O floor.

For each method, a fresh child process runs the merge (validation, streaming, atomic write;
no input checksums, as `--no-record` runs it) and reports its time and peak resident memory
(with the process it may fork for the second half, both peaks added);
another child measures the floor in the same run: reading the three inputs and writing (and
fsyncing) one file as large as that method's output. Inputs are generated once, in --workdir
(default: a temporary folder), and are warm in the page cache for both, so the ratio compares
like with like.

Usage: python scripts/bench/bench_merge.py [--repeats 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

HIDDEN, INTERMEDIATE, LAYERS, RANK, ALPHA = 4096, 11008, 32, 16, 32
PROJECTIONS = {  # name: (out_features, in_features)
    "self_attn.q_proj": (HIDDEN, HIDDEN),
    "self_attn.k_proj": (HIDDEN, HIDDEN),
    "self_attn.v_proj": (HIDDEN, HIDDEN),
    "self_attn.o_proj": (HIDDEN, HIDDEN),
    "mlp.gate_proj": (INTERMEDIATE, HIDDEN),
    "mlp.up_proj": (INTERMEDIATE, HIDDEN),
    "mlp.down_proj": (HIDDEN, INTERMEDIATE),
}

# Peak resident memory of the calling process (VmHWM starts afresh at exec, unlike
# ru_maxrss, which a child inherits from the parent that forked it).
PEAK_RSS = """
def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
"""

# Runs in a child: time one merge and report its peak memory.
MERGE_CHILD = (
    PEAK_RSS
    + """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.adapters.merge import Method
baseline = peak_rss()
inputs, output, method = [Path(p) for p in sys.argv[2:5]], Path(sys.argv[5]), sys.argv[6]
rank = int(sys.argv[7]) if len(sys.argv) > 7 else None
start, cpu = time.perf_counter(), time.process_time()
result = merge_adapters(MergeRequest(inputs, output, Method(method), rank=rank, checksums=False))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
# The merge may run its second half in a forked process (adapters/split.py): count that
# process's peak too, and its CPU time. Summing the two peaks counts the pages they share
# twice, so the figure errs high.
children = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu += children.ru_utime + children.ru_stime
peak = peak_rss() + children.ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "baseline": baseline,
                  "output_bytes": result.weights_path.stat().st_size,
                  "svd_error": result.svd_relative_error}))
"""
)

# Runs in a child: the I/O floor, read every input and write one file of the given size.
FLOOR_CHILD = (
    PEAK_RSS
    + """
import json, os, sys, time
from pathlib import Path
inputs, output, size = [Path(p) for p in sys.argv[1:4]], Path(sys.argv[4]), int(sys.argv[5])
chunk = bytearray(16 << 20)
start, cpu = time.perf_counter(), time.process_time()
for path in inputs:
    with open(path, "rb", buffering=0) as stream:
        while stream.readinto(chunk):
            pass
tmp = output.with_name(output.name + ".tmp")
with open(tmp, "wb", buffering=0) as stream:
    left = size
    while left:
        left -= stream.write(memoryview(chunk)[: min(left, len(chunk))])
    os.fsync(stream.fileno())
os.replace(tmp, output)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak_rss()}))
"""
)


def make_inputs(folder: Path) -> list[Path]:
    import numpy as np
    from safetensors.numpy import save_file

    paths = []
    for index, user in enumerate(("alice", "bob", "carol")):
        adapter = folder / user
        weights = adapter / "adapter_model.safetensors"
        paths.append(adapter)
        if weights.exists():
            continue
        adapter.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(index)
        tensors = {}
        for layer in range(LAYERS):
            for projection, (out_features, in_features) in PROJECTIONS.items():
                name = f"base_model.model.model.layers.{layer}.{projection}"
                a = rng.standard_normal((RANK, in_features), dtype=np.float32) * 0.01
                b = rng.standard_normal((out_features, RANK), dtype=np.float32) * 0.01
                tensors[f"{name}.lora_A.weight"] = a.astype(np.float16)
                tensors[f"{name}.lora_B.weight"] = b.astype(np.float16)
        save_file(tensors, str(weights), metadata={"format": "pt"})
        config = {
            "peft_type": "LORA",
            "r": RANK,
            "lora_alpha": ALPHA,
            "target_modules": [p.split(".")[1] for p in PROJECTIONS],
            "base_model_name_or_path": "meta-llama/Llama-2-7b-hf",
        }
        (adapter / "adapter_config.json").write_text(json.dumps(config))
    return paths


def run_child(args: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as scratch:
        workdir = args.workdir or Path(scratch)
        inputs = make_inputs(workdir)
        weights = [str(p / "adapter_model.safetensors") for p in inputs]
        input_bytes = os.path.getsize(weights[0])
        params = (input_bytes - 0) // 2
        print(
            f"3 inputs of {input_bytes / 1e6:.1f} MB each (~{params / 1e6:.1f}M fp16 parameters, "
            f"{LAYERS} layers x {len(PROJECTIONS)} projections, rank {RANK}); "
            f"repeats={args.repeats}, median shown"
        )
        header = (
            f"{'method':<12}{'merge s':>9}{'floor s':>9}{'ratio':>7}"
            f"{'cpu s':>8}{'floor cpu':>10}{'peak MB':>9}{'peak/input':>11}{'out MB':>8}  note"
        )
        print(header)
        for method, rank in (("linear", None), ("cat", None), ("svd", 16)):
            merges, floors = [], []
            for _ in range(args.repeats):
                output = workdir / f"merged-{method}.safetensors"
                child = [MERGE_CHILD, str(ROOT / "server"), *map(str, inputs), str(output), method]
                merges.append(run_child(child + ([str(rank)] if rank else [])))
                size = int(merges[-1]["output_bytes"])
                floors.append(
                    run_child([FLOOR_CHILD, *weights, str(workdir / "floor.bin"), str(size)])
                )
            merge_s = statistics.median(m["seconds"] for m in merges)
            floor_s = statistics.median(f["seconds"] for f in floors)
            merge_cpu = statistics.median(m["cpu"] for m in merges)
            floor_cpu = statistics.median(f["cpu"] for f in floors)
            peak = max(m["peak"] for m in merges)
            error = merges[-1]["svd_error"]
            note = f"relative error {error:.1%}" if error is not None else ""
            label = f"{method} r={rank}" if rank else method
            print(
                f"{label:<12}{merge_s:>9.2f}{floor_s:>9.2f}{merge_s / floor_s:>7.2f}"
                f"{merge_cpu:>8.2f}{floor_cpu:>10.2f}{peak / 1e6:>9.0f}{peak / input_bytes:>11.2f}"
                f"{merges[-1]['output_bytes'] / 1e6:>8.0f}  {note}"
            )
        print(
            f"(python + numpy alone: {merges[-1]['baseline'] / 1e6:.0f} MB peak RSS; "
            f"floor process: {max(f['peak'] for f in floors) / 1e6:.0f} MB)"
        )


if __name__ == "__main__":
    main()
