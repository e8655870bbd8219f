"""PEFT's LoRA layout: adapter folders, key names, adapter_config.json and scaling.

An input is a bare `.safetensors` file or a PEFT folder (`adapter_model.safetensors` +
`adapter_config.json`). PEFT names a module's factors `<module>.lora_A.weight` (rank x in)
and `<module>.lora_B.weight` (out x rank), or `lora_embedding_A` / `lora_embedding_B` for
embeddings; the module's update is `scale * B @ A` with `scale = lora_alpha / r`
(`lora_alpha / sqrt(r)` with rsLoRA), where `rank_pattern` / `alpha_pattern` override r and
alpha per module. A bare file has no config: its scale is 1 unless the caller gives alphas.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AdapterError
from .safetensors_io import SafetensorsHeader, read_header

WEIGHTS_NAME = "adapter_model.safetensors"
CONFIG_NAME = "adapter_config.json"
# PEFT prefixes every key with the wrapper's path; module names in configs omit it.
_PEFT_PREFIX = "base_model.model."
_FACTOR_SUFFIXES = {
    ".lora_A.weight": "A",
    ".lora_B.weight": "B",
    ".lora_embedding_A": "A",
    ".lora_embedding_B": "B",
}


@dataclass(frozen=True)
class LoraModule:
    """One adapted module of one adapter: its two factors and its scale."""

    name: str
    a_key: str
    b_key: str
    rank: int
    in_features: int
    out_features: int
    scale: float


@dataclass(frozen=True)
class Adapter:
    label: str  # what the user passed, for messages
    weights_path: Path
    config: dict[str, Any] | None
    header: SafetensorsHeader
    modules: dict[str, LoraModule]
    config_sha256: str | None = None  # of the config file's bytes: part of the input's identity


def _load_config(path: Path) -> tuple[dict[str, Any], str]:
    """(the config, sha256 of its bytes)."""
    try:
        raw = path.read_bytes()
        config = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise AdapterError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AdapterError(f"{path}: not valid JSON") from None
    if not isinstance(config, dict):
        raise AdapterError(f"{path}: expected a JSON object")
    return config, hashlib.sha256(raw).hexdigest()


def _check_config(path: Path, config: Mapping[str, Any]) -> None:
    peft_type = config.get("peft_type", "LORA")
    if str(peft_type).upper() != "LORA":
        raise AdapterError(f"{path}: a {peft_type} adapter; only LoRA adapters can be merged")
    if config.get("use_dora"):
        raise AdapterError(
            f"{path}: DoRA adapter (use_dora); its magnitude vectors have no exact weighted "
            "merge, so it is refused rather than merged wrongly"
        )
    if config.get("lora_bias"):
        raise AdapterError(f"{path}: lora_bias adapters are not supported")
    r, alpha = config.get("r"), config.get("lora_alpha")
    if not isinstance(r, int) or isinstance(r, bool) or r <= 0:
        raise AdapterError(f"{path}: 'r' must be a positive integer, not {r!r}")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool):
        raise AdapterError(f"{path}: 'lora_alpha' must be a number, not {alpha!r}")
    for field, kind in (("rank_pattern", int), ("alpha_pattern", (int, float))):
        patterns = config.get(field) or {}
        if not isinstance(patterns, dict):
            raise AdapterError(f"{path}: {field!r} must be an object")
        for key, value in patterns.items():
            try:
                re.compile(key)
            except re.error:
                raise AdapterError(f"{path}: {field} key {key!r} is not a valid pattern") from None
            if not isinstance(value, kind) or isinstance(value, bool) or value <= 0:
                raise AdapterError(f"{path}: {field}[{key!r}] must be a positive number")


def _pattern_value(patterns: Mapping[str, Any], module: str, default: Any) -> Any:
    # PEFT's get_pattern_key: the first key k (in order) with re.match(rf"(.*\.)?({k})$", module).
    for key, value in patterns.items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def module_scale(config: Mapping[str, Any], module: str) -> tuple[int, float]:
    """(r, scale) that PEFT applies to `module` (a name without the base_model.model. prefix)."""
    r = int(_pattern_value(config.get("rank_pattern") or {}, module, config["r"]))
    alpha = float(_pattern_value(config.get("alpha_pattern") or {}, module, config["lora_alpha"]))
    if config.get("use_rslora"):
        return r, alpha / math.sqrt(r)
    return r, alpha / r


def _module_of(header: SafetensorsHeader, key: str) -> tuple[str, str]:
    for suffix, role in _FACTOR_SUFFIXES.items():
        if key.endswith(suffix):
            return key[: -len(suffix)], role
    where = f"{header.path}: tensor {key!r}"
    if "lora_magnitude_vector" in key:
        raise AdapterError(
            f"{where} is a DoRA magnitude vector; DoRA adapters have no exact weighted merge, "
            "so they are refused rather than merged wrongly"
        )
    if key.endswith(".lora_B.bias"):
        raise AdapterError(f"{where} is a LoRA bias (lora_bias); not supported")
    raise AdapterError(
        f"{where} is not a LoRA factor (PEFT names end in .lora_A.weight / .lora_B.weight); "
        "full weights such as modules_to_save cannot be merged as LoRA updates"
    )


def resolve_input(path: Path) -> tuple[Path, Path | None]:
    """(weights file, config file or None) for a PEFT folder or a bare safetensors file."""
    if path.is_dir():
        weights = path / WEIGHTS_NAME
        if not weights.is_file():
            raise AdapterError(f"{path}: folder has no {WEIGHTS_NAME}")
        config = path / CONFIG_NAME
        return weights, config if config.is_file() else None
    sibling = config_path_for(path)
    return path, sibling if sibling.is_file() else None


def config_path_for(weights: Path) -> Path:
    """Where the config of a weights file lives: PEFT's name beside adapter_model.safetensors,
    else `<stem>.adapter_config.json` beside a differently named file."""
    if weights.name == WEIGHTS_NAME:
        return weights.parent / CONFIG_NAME
    return weights.with_name(f"{weights.stem}.{CONFIG_NAME}")


def load_adapter(path: Path, alpha: float | None = None) -> Adapter:
    """Validate one input's header, keys, pairs, shapes and config; reads no tensor data."""
    weights_path, config_path = resolve_input(path)
    header = read_header(weights_path)
    config, config_sha256 = _load_config(config_path) if config_path else (None, None)
    if config_path and config is not None:
        _check_config(config_path, config)
        if alpha is not None:
            raise AdapterError(f"{path}: has {CONFIG_NAME}; --alphas is only for bare files")
    if not header.tensors:
        raise AdapterError(f"{weights_path}: contains no tensors")
    factors: dict[str, dict[str, str]] = {}
    for key in header.tensors:
        module, role = _module_of(header, key)
        factors.setdefault(module, {})[role] = key
    modules: dict[str, LoraModule] = {}
    for module, roles in factors.items():
        if set(roles) != {"A", "B"}:
            present, missing = ("A", "B") if "A" in roles else ("B", "A")
            raise AdapterError(
                f"{weights_path}: tensor {roles[present]!r} has no lora_{missing} partner"
            )
        modules[module] = _build_module(
            header, module, roles["A"], roles["B"], config=config, alpha=alpha
        )
    return Adapter(str(path), weights_path, config, header, modules, config_sha256)


def _build_module(
    header: SafetensorsHeader,
    module: str,
    a_key: str,
    b_key: str,
    *,
    config: Mapping[str, Any] | None,
    alpha: float | None,
) -> LoraModule:
    a_info, b_info = header.tensors[a_key], header.tensors[b_key]
    for info in (a_info, b_info):
        if len(info.shape) != 2:
            raise AdapterError(
                f"{header.path}: tensor {info.name!r} has shape {list(info.shape)}; only 2-D "
                "LoRA factors (linear and embedding layers) are supported"
            )
    rank, in_features = a_info.shape
    out_features, b_rank = b_info.shape
    if b_rank != rank:
        raise AdapterError(
            f"{header.path}: rank mismatch in {module!r}: {a_key!r} has rank {rank} "
            f"but {b_key!r} has rank {b_rank}"
        )
    if rank == 0:
        raise AdapterError(f"{header.path}: tensor {a_key!r} has rank 0")
    if config is not None:
        config_rank, scale = module_scale(config, module.removeprefix(_PEFT_PREFIX))
        if config_rank != rank:
            raise AdapterError(
                f"{header.path}: rank mismatch in {module!r}: the tensors have rank {rank} "
                f"but {CONFIG_NAME} says r={config_rank}"
            )
    else:
        scale = 1.0 if alpha is None else alpha / rank
    return LoraModule(module, a_key, b_key, rank, in_features, out_features, scale)


def check_compatible(adapters: Sequence[Adapter]) -> None:
    """Same modules with the same shapes in every input, else name the first difference."""
    first = adapters[0]
    for other in adapters[1:]:
        missing = sorted(set(first.modules) - set(other.modules))
        extra = sorted(set(other.modules) - set(first.modules))
        if missing or extra:
            if missing:
                detail = f"lacks {missing[0]!r}, which {first.weights_path} has"
            else:
                detail = f"has {extra[0]!r}, which {first.weights_path} lacks"
            count = len(missing) + len(extra)
            raise AdapterError(
                f"{other.weights_path}: key sets differ in {count} module(s): it {detail}"
            )
        for name, module in first.modules.items():
            theirs = other.modules[name]
            if (theirs.out_features, theirs.in_features) != (
                module.out_features,
                module.in_features,
            ):
                raise AdapterError(
                    f"{other.weights_path}: shape mismatch in {name!r}: "
                    f"{theirs.out_features}x{theirs.in_features} but "
                    f"{module.out_features}x{module.in_features} in {first.weights_path}"
                )
    fan = {bool((a.config or {}).get("fan_in_fan_out")) for a in adapters if a.config}
    if len(fan) > 1:
        raise AdapterError("the adapters disagree on fan_in_fan_out; they cannot be merged")


def output_config(template: Mapping[str, Any], ranks: Mapping[str, int]) -> dict[str, Any]:
    """adapter_config.json for merged factors whose scaling is folded in (scale 1 everywhere).

    The most common rank becomes `r`; other modules get rank_pattern entries, and alpha equals
    rank everywhere (alpha_pattern mirrors rank_pattern), so that PEFT applies scale 1.
    """
    config = dict(template)
    by_module = {name.removeprefix(_PEFT_PREFIX): rank for name, rank in ranks.items()}
    common = Counter(by_module.values()).most_common(1)[0][0]
    # Escaped full names match in both PEFT's current and older get_pattern_key forms
    # (the older form needs a dot before the key, hence dropping the first component).
    pattern = {
        re.escape(name.split(".", 1)[1] if "." in name else name): rank
        for name, rank in by_module.items()
        if rank != common
    }
    config.update(
        r=common,
        lora_alpha=common,
        rank_pattern=pattern,
        alpha_pattern=dict(pattern),
        use_rslora=False,
    )
    return config
