"""Every input the merge refuses, with a message naming the file and tensor, before any
output exists."""

from __future__ import annotations

import json
import pickle
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from pattern_memory.adapters.fuse import MergeRequest, merge_adapters, resolve_weights
from pattern_memory.adapters.merge import Method
from pattern_memory.errors import AdapterError
from tests.adapters.lora_files import MODULES, make_adapter, write_tensors

Q = "base_model.model.model.layers.0.self_attn.q_proj"


def refused(tmp_path: Path, inputs: list[Path], pattern: str, **kw: Any) -> None:
    output = tmp_path / "out" / "merged.safetensors"
    kw.setdefault("weights", [1.0 / len(inputs)] * len(inputs))
    with pytest.raises(AdapterError, match=pattern):
        merge_adapters(MergeRequest(inputs, output, **kw))
    # Nothing was written: no output, no temporary file.
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def good(tmp_path: Path, name: str = "good", **kw: Any) -> Path:
    return make_adapter(tmp_path / name, seed=7, **kw).path


def write_raw(path: Path, header: dict[str, Any] | bytes, data: bytes = b"") -> Path:
    encoded = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return path


def test_missing_file(tmp_path: Path) -> None:
    refused(
        tmp_path,
        [good(tmp_path), tmp_path / "nope.safetensors"],
        r"nope\.safetensors: no such file",
    )


def test_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    refused(
        tmp_path,
        [good(tmp_path), tmp_path / "empty"],
        r"empty: folder has no adapter_model\.safetensors",
    )


def test_text_file_is_not_safetensors(tmp_path: Path) -> None:
    text = tmp_path / "notes.safetensors"
    text.write_text("these are not the weights you are looking for\n" * 3)
    refused(tmp_path, [good(tmp_path), text], r"notes\.safetensors: not a safetensors file")


def test_pickle_is_refused_and_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    evil = tmp_path / "adapter.safetensors"
    evil.write_bytes(pickle.dumps(Exploit(), protocol=4))
    refused(tmp_path, [good(tmp_path), evil], r"adapter\.safetensors: .*Python pickle")
    assert not marker.exists()


def test_zip_checkpoint_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "adapter_model.bin"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    refused(tmp_path, [good(tmp_path), archive], r"adapter_model\.bin: .*zip archive")


def test_header_too_large(tmp_path: Path) -> None:
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 200_000_000) + b"{" + b" " * 64)
    refused(tmp_path, [good(tmp_path), huge], r"huge\.safetensors: safetensors header too large")


def test_header_past_end_of_file(tmp_path: Path) -> None:
    short = tmp_path / "short.safetensors"
    short.write_bytes(struct.pack("<Q", 5000) + b"{}")
    refused(tmp_path, [good(tmp_path), short], r"short\.safetensors: .*past the end of the file")


def test_header_not_json(tmp_path: Path) -> None:
    bad = write_raw(tmp_path / "bad.safetensors", b"{not json at all}")
    refused(tmp_path, [good(tmp_path), bad], r"bad\.safetensors: .*header is not JSON")


def test_truncated_data(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path / "cut", seed=1)
    weights = adapter.path / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    refused(tmp_path, [good(tmp_path), adapter.path], r"adapter_model\.safetensors: tensor .*trunc")


def test_overlapping_tensors(tmp_path: Path) -> None:
    entry = {"dtype": "F32", "shape": [2, 2]}
    bad = write_raw(
        tmp_path / "overlap.safetensors",
        {
            f"{Q}.lora_A.weight": {**entry, "data_offsets": [0, 16]},
            f"{Q}.lora_B.weight": {**entry, "data_offsets": [8, 24]},
        },
        bytes(24),
    )
    refused(tmp_path, [bad, bad], r"overlap\.safetensors: tensors .* overlap")


def test_offsets_that_do_not_fit_the_shape(tmp_path: Path) -> None:
    bad = write_raw(
        tmp_path / "shape.safetensors",
        {f"{Q}.lora_A.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}},
        bytes(12),
    )
    refused(tmp_path, [bad, bad], rf"shape\.safetensors: tensor '{Q}\.lora_A\.weight'")


def test_unsupported_dtype(tmp_path: Path) -> None:
    folder = tmp_path / "int8"
    folder.mkdir()
    save_file(
        {
            f"{Q}.lora_A.weight": np.ones((4, 24), np.int8),
            f"{Q}.lora_B.weight": np.ones((24, 4), np.int8),
        },
        str(folder / "adapter_model.safetensors"),
    )
    refused(
        tmp_path,
        [good(tmp_path), folder],
        rf"tensor '{Q}\.lora_(A|B)\.weight': unsupported dtype I8",
    )


def test_mismatched_key_sets(tmp_path: Path) -> None:
    fewer = dict(MODULES)
    del fewer[Q]
    other = make_adapter(tmp_path / "fewer", modules=fewer).path
    refused(tmp_path, [good(tmp_path), other], rf"fewer.*key sets differ.*lacks '{Q}'")


def test_missing_partner(tmp_path: Path) -> None:
    lone = tmp_path / "lone.safetensors"
    write_tensors(lone, {f"{Q}.lora_A.weight": ("F16", np.ones((4, 24)))})
    refused(
        tmp_path,
        [lone, lone],
        rf"lone\.safetensors: tensor '{Q}\.lora_A\.weight' has no "
        "lora_B partner",
    )


def test_shape_mismatch_between_inputs(tmp_path: Path) -> None:
    wider = make_adapter(tmp_path / "wider", modules={**MODULES, Q: (24, 32)}).path
    refused(tmp_path, [good(tmp_path), wider], rf"wider.*shape mismatch in '{Q}': 24x32 but 24x24")


def test_rank_mismatch_between_a_and_b(tmp_path: Path) -> None:
    odd = tmp_path / "odd.safetensors"
    write_tensors(
        odd,
        {
            f"{Q}.lora_A.weight": ("F16", np.ones((4, 24))),
            f"{Q}.lora_B.weight": ("F16", np.ones((24, 5))),
        },
    )
    refused(tmp_path, [odd, odd], rf"odd\.safetensors: rank mismatch in '{Q}'")


def test_rank_mismatch_with_config(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path / "liar", rank=4)
    config = json.loads((adapter.path / "adapter_config.json").read_text())
    (adapter.path / "adapter_config.json").write_text(json.dumps({**config, "r": 8}))
    refused(tmp_path, [good(tmp_path), adapter.path], r"liar.*adapter_config\.json says r=8")


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_nan_or_inf(tmp_path: Path, bad_value: float) -> None:
    adapter = make_adapter(tmp_path / "broken", seed=3)
    weights = adapter.path / "adapter_model.safetensors"
    tensors = {name: ("F32", values) for name, values in _values(weights).items()}
    last = sorted(tensors)[-1]
    tensors[last][1][0, 0] = bad_value
    write_tensors(weights, tensors)
    refused(
        tmp_path,
        [good(tmp_path), adapter.path],
        rf"broken/adapter_model\.safetensors: tensor '{re.escape(last)}' contains NaN or Inf",
    )


def _values(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    from safetensors.numpy import load_file

    return {k: v.astype(np.float64) for k, v in load_file(str(path)).items()}


@pytest.mark.parametrize(
    ("weights", "rates", "pattern"),
    [
        ([0.5], None, "got 1 weights for 2 adapters"),
        ([0.5, 0.3, 0.2], None, "got 3 weights for 2 adapters"),
        (None, [0.9], "got 1 success rates for 2 adapters"),
        (None, [0.9, -0.1], "success rate -0.1 is not a non-negative number"),
        (None, [0.0, 0.0], "all success rates are 0"),
        ([0.0, 0.0], None, "all weights are 0"),
        ([float("nan"), 1.0], None, "weights must be finite"),
        ([1.0], [1.0], "either --weights or --success-rates"),
    ],
)
def test_bad_weights_and_rates(
    weights: list[float] | None, rates: list[float] | None, pattern: str
) -> None:
    with pytest.raises(AdapterError, match=re.escape(pattern)):
        resolve_weights(2, weights, rates)


def test_weight_count_checked_by_the_merge_too(tmp_path: Path) -> None:
    refused(
        tmp_path,
        [good(tmp_path), good(tmp_path, "b")],
        "got 3 weights for 2 adapters",
        weights=[0.2, 0.3, 0.5],
    )


def test_dora_magnitude_vectors_are_refused(tmp_path: Path) -> None:
    dora = tmp_path / "dora.safetensors"
    write_tensors(
        dora,
        {
            f"{Q}.lora_A.weight": ("F16", np.ones((4, 24))),
            f"{Q}.lora_B.weight": ("F16", np.ones((24, 4))),
            f"{Q}.lora_magnitude_vector": ("F16", np.ones(24)),
        },
    )
    refused(tmp_path, [dora, dora], rf"tensor '{Q}\.lora_magnitude_vector' is a DoRA magnitude")


def test_dora_config_is_refused(tmp_path: Path) -> None:
    dora = make_adapter(tmp_path / "dora", extra_config={"use_dora": True}).path
    refused(tmp_path, [good(tmp_path), dora], r"dora/adapter_config\.json: DoRA adapter")


def test_lora_bias_is_refused(tmp_path: Path) -> None:
    biased = tmp_path / "bias.safetensors"
    write_tensors(
        biased,
        {
            f"{Q}.lora_A.weight": ("F16", np.ones((4, 24))),
            f"{Q}.lora_B.weight": ("F16", np.ones((24, 4))),
            f"{Q}.lora_B.bias": ("F16", np.ones(24)),
        },
    )
    refused(tmp_path, [biased, biased], r"is a LoRA bias")


def test_full_weights_are_not_lora_factors(tmp_path: Path) -> None:
    extra = tmp_path / "extra.safetensors"
    write_tensors(
        extra,
        {
            f"{Q}.lora_A.weight": ("F16", np.ones((4, 24))),
            f"{Q}.lora_B.weight": ("F16", np.ones((24, 4))),
            "base_model.model.lm_head.modules_to_save.weight": ("F16", np.ones((3, 3))),
        },
    )
    refused(tmp_path, [extra, extra], r"lm_head\.modules_to_save\.weight' is not a LoRA factor")


def test_convolution_factors_are_refused(tmp_path: Path) -> None:
    conv = tmp_path / "conv.safetensors"
    write_tensors(
        conv,
        {
            f"{Q}.lora_A.weight": ("F16", np.ones((4, 3, 3, 3))),
            f"{Q}.lora_B.weight": ("F16", np.ones((8, 4, 1, 1))),
        },
    )
    refused(tmp_path, [conv, conv], r"has shape \[4, 3, 3, 3\]; only 2-D")


def test_other_peft_types_are_refused(tmp_path: Path) -> None:
    ia3 = make_adapter(tmp_path / "ia3", extra_config={"peft_type": "IA3"}).path
    refused(tmp_path, [good(tmp_path), ia3], r"a IA3 adapter; only LoRA")


def test_invalid_config_json(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path / "badcfg").path
    (adapter / "adapter_config.json").write_text("{r: 4")
    refused(tmp_path, [good(tmp_path), adapter], r"badcfg/adapter_config\.json: not valid JSON")


def test_fan_in_fan_out_disagreement(tmp_path: Path) -> None:
    flipped = make_adapter(tmp_path / "flip", extra_config={"fan_in_fan_out": True}).path
    refused(tmp_path, [good(tmp_path), flipped], "disagree on fan_in_fan_out")


def test_linear_needs_equal_ranks(tmp_path: Path) -> None:
    refused(
        tmp_path,
        [good(tmp_path, rank=4), good(tmp_path, "b", rank=8)],
        r"--method linear needs equal ranks.*use --method cat or svd",
        method=Method.LINEAR,
    )


def test_rank_only_with_svd(tmp_path: Path) -> None:
    inputs = [good(tmp_path), good(tmp_path, "b")]
    refused(tmp_path, inputs, "--rank applies to --method svd only", rank=4)
    refused(tmp_path, inputs, "--rank must be positive", rank=0, method=Method.SVD)


def test_alphas_only_for_bare_files(tmp_path: Path) -> None:
    refused(
        tmp_path,
        [good(tmp_path), good(tmp_path, "b")],
        "--alphas is only for bare files",
        alphas=[8.0, 8.0],
    )


def test_fp16_overflow_of_the_result_is_refused(tmp_path: Path) -> None:
    refused(
        tmp_path,
        [good(tmp_path), good(tmp_path, "b")],
        r"overflows F16.*--dtype float32",
        weights=[1e5, 1e5],
    )


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"rank_pattern": {"q_proj(": 4}}, r"rank_pattern key 'q_proj\(' is not a valid pattern"),
        ({"alpha_pattern": {"q_proj": "eight"}}, r"alpha_pattern\['q_proj'\] must be a positive"),
        ({"rank_pattern": ["q_proj"]}, r"'rank_pattern' must be an object"),
    ],
)
def test_invalid_patterns_in_config(tmp_path: Path, patterns: dict[str, Any], message: str) -> None:
    adapter = make_adapter(tmp_path / "odd")
    config = json.loads((adapter.path / "adapter_config.json").read_text())
    (adapter.path / "adapter_config.json").write_text(json.dumps({**config, **patterns}))
    refused(tmp_path, [good(tmp_path), adapter.path], rf"odd/adapter_config\.json: {message}")
