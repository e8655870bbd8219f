"""Test helpers: write LoRA adapters with the safetensors library itself, read results back
with it, and compute the exact merged update independently of the code under test."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import TensorSpec, deserialize, serialize_file

Array = np.ndarray[Any, Any]

_LIBRARY_DTYPE = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}

# Llama-style module names (as PEFT saves them) with small shapes (out, in).
MODULES: dict[str, tuple[int, int]] = {
    "base_model.model.model.layers.0.self_attn.q_proj": (24, 24),
    "base_model.model.model.layers.0.mlp.down_proj": (24, 40),
    "base_model.model.model.layers.1.self_attn.v_proj": (16, 24),
}
EMBEDDING = "base_model.model.model.embed_tokens"


def quantize(values: Array, dtype: str) -> tuple[Array, Array]:
    """(storage array, the exact float64 values it holds)."""
    if dtype == "BF16":
        bits = values.astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
        return (bits >> 16).astype("<u2"), bits.view(np.float32).astype(np.float64)
    stored = values.astype(np.dtype(_LIBRARY_DTYPE[dtype]))
    return stored, stored.astype(np.float64)


def write_tensors(path: Path, tensors: dict[str, tuple[str, Array]]) -> dict[str, Array]:
    """Write {name: (dtype, values)} with safetensors; return the exact stored values."""
    exact: dict[str, Array] = {}
    stored: dict[str, Array] = {}
    specs: dict[str, TensorSpec] = {}
    for name, (dtype, values) in tensors.items():
        storage, exact[name] = quantize(values, dtype)
        stored[name] = np.ascontiguousarray(storage)
        specs[name] = TensorSpec(
            dtype=_LIBRARY_DTYPE[dtype],
            shape=list(values.shape),
            data_ptr=stored[name].ctypes.data,
            data_len=stored[name].nbytes,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    serialize_file(specs, str(path), metadata={"format": "pt"})
    return exact


def read_tensors(path: Path) -> dict[str, tuple[str, Array]]:
    """{name: (dtype, float64 values)} as the safetensors library reads the file."""
    result: dict[str, tuple[str, Array]] = {}
    for name, info in deserialize(path.read_bytes()):
        raw = np.frombuffer(bytes(info["data"]), dtype=np.uint8)
        if info["dtype"] == "BF16":
            values = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            values = raw.view(np.dtype(_LIBRARY_DTYPE[info["dtype"]]).newbyteorder("<"))
        result[name] = (info["dtype"], values.astype(np.float64).reshape(info["shape"]))
    return result


@dataclass
class LoraFixture:
    path: Path  # what to pass as an input: a folder, or a bare file
    factors: dict[str, tuple[Array, Array]]  # module -> exact (A, B)
    scales: dict[str, float]
    config: dict[str, Any] | None = None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)


def make_adapter(
    path: Path,
    *,
    rank: int = 4,
    alpha: float | None = 8,
    dtype: str = "F16",
    seed: int = 0,
    rslora: bool = False,
    rank_pattern: dict[str, int] | None = None,
    alpha_pattern: dict[str, float] | None = None,
    modules: dict[str, tuple[int, int]] | None = None,
    embedding: bool = False,
    folder: bool = True,
    extra_config: dict[str, Any] | None = None,
) -> LoraFixture:
    """A PEFT folder (adapter_model.safetensors + adapter_config.json), or a bare file when
    folder=False (then alpha is not written anywhere and the scale is 1)."""
    rng = np.random.default_rng(seed)
    modules = dict(MODULES if modules is None else modules)
    tensors: dict[str, tuple[str, Array]] = {}
    keys: dict[str, tuple[str, str]] = {}
    ranks: dict[str, int] = {}
    alphas: dict[str, float] = {}
    for name, (out_features, in_features) in modules.items():
        short = name.removeprefix("base_model.model.")
        r = next((v for k, v in (rank_pattern or {}).items() if short.endswith(k)), rank)
        a_alpha = next((v for k, v in (alpha_pattern or {}).items() if short.endswith(k)), alpha)
        ranks[name], alphas[name] = r, float(a_alpha if a_alpha is not None else r)
        keys[name] = (f"{name}.lora_A.weight", f"{name}.lora_B.weight")
        tensors[keys[name][0]] = (dtype, rng.standard_normal((r, in_features)) * 0.5)
        tensors[keys[name][1]] = (dtype, rng.standard_normal((out_features, r)) * 0.5)
    if embedding:
        ranks[EMBEDDING], alphas[EMBEDDING] = rank, float(alpha if alpha is not None else rank)
        keys[EMBEDDING] = (f"{EMBEDDING}.lora_embedding_A", f"{EMBEDDING}.lora_embedding_B")
        tensors[keys[EMBEDDING][0]] = (dtype, rng.standard_normal((rank, 50)) * 0.5)
        tensors[keys[EMBEDDING][1]] = (dtype, rng.standard_normal((24, rank)) * 0.5)
    weights_path = path / "adapter_model.safetensors" if folder else path
    exact = write_tensors(weights_path, tensors)
    factors = {name: (exact[a], exact[b]) for name, (a, b) in keys.items()}
    config = None
    if folder:
        config = {
            "peft_type": "LORA",
            "base_model_name_or_path": "test/llama-tiny",
            "task_type": "CAUSAL_LM",
            "r": rank,
            "lora_alpha": alpha,
            "use_rslora": rslora,
            "rank_pattern": rank_pattern or {},
            "alpha_pattern": alpha_pattern or {},
            "target_modules": ["q_proj", "v_proj", "down_proj"],
            **(extra_config or {}),
        }
        (path / "adapter_config.json").write_text(json.dumps(config))
        root = math.sqrt if rslora else (lambda r: r)
        scales = {name: alphas[name] / root(ranks[name]) for name in keys}
    else:
        scales = dict.fromkeys(keys, 1.0)
    return LoraFixture(path, factors, scales, config, keys)


def exact_update(adapters: list[LoraFixture], weights: list[float]) -> dict[str, Array]:
    """sum_i w_i * scale_i * B_i @ A_i for every module, in float64."""
    result: dict[str, Array] = {}
    for name in adapters[0].factors:
        result[name] = sum(
            w * a.scales[name] * (a.factors[name][1] @ a.factors[name][0])
            for a, w in zip(adapters, weights, strict=True)
        )
    return result


def merged_update(weights_path: Path, config_path: Path | None) -> dict[str, Array]:
    """B @ A of every module of a merge's output, checking that the config (if any) makes
    PEFT apply scale 1 to each module at the rank the tensors have."""
    tensors = read_tensors(weights_path)
    config = json.loads(config_path.read_text()) if config_path else None
    result: dict[str, Array] = {}
    for key, (_, a) in tensors.items():
        for a_suffix, b_suffix in (
            (".lora_A.weight", ".lora_B.weight"),
            (".lora_embedding_A", ".lora_embedding_B"),
        ):
            if key.endswith(a_suffix):
                name = key.removesuffix(a_suffix)
                b = tensors[name + b_suffix][1]
                if config is not None:
                    r, alpha = peft_rank_and_alpha(config, name.removeprefix("base_model.model."))
                    assert r == a.shape[0] == b.shape[1]
                    assert not config.get("use_rslora")
                    assert alpha == r
                result[name] = b @ a
    return result


def peft_rank_and_alpha(config: dict[str, Any], module: str) -> tuple[int, float]:
    import re

    def lookup(patterns: dict[str, Any], default: Any) -> Any:
        for key, value in patterns.items():
            if re.match(rf"(.*\.)?({key})$", module):
                return value
        return default

    return (
        lookup(config.get("rank_pattern") or {}, config["r"]),
        lookup(config.get("alpha_pattern") or {}, config["lora_alpha"]),
    )


def relative_error(got: Array, want: Array) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))
